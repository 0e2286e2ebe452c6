// iamq dashboard: the chart (uPlot) and live updates (Server-Sent Events from /api/events).
// The pages work without this file; it only adds to them. No inline script anywhere (CSP):
// everything the page needs comes from the DOM or from /api/. Text from the queue is always
// set with textContent, never parsed as HTML.
(function () {
  'use strict';
  var page = document.body.getAttribute('data-page');
  var liveTag = document.getElementById('live');
  var chart = null;
  var series = null;  // [t[], jobs[], calls[], retries per class...]
  var classes = ['throttled', 'transient', 'concurrent_modification', 'unmodifiable', 'other'];

  function setText(sel, attr, values) {
    var nodes = document.querySelectorAll('[' + attr + ']');
    for (var i = 0; i < nodes.length; i++) {
      var k = nodes[i].getAttribute(attr);
      if (values && Object.prototype.hasOwnProperty.call(values, k)) nodes[i].textContent = String(values[k]);
    }
  }

  function fmtTime(ms) {
    var n = parseInt(ms, 10);
    if (!n) return '';
    return new Date(n).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  }

  function addEventRow(ev) {
    var body = document.getElementById('recent');
    if (!body) return;
    var tr = document.createElement('tr');
    var detail = ev.error || ev.reason || (ev.account ? 'account ' + ev.account : '');
    var cells = [fmtTime(ev.at), ev.event || '', null, String(detail).slice(0, 300)];
    for (var i = 0; i < cells.length; i++) {
      var td = document.createElement('td');
      if (i === 2 && ev.id) {
        var a = document.createElement('a');
        a.href = '/jobs/' + encodeURIComponent(ev.id);
        a.textContent = ev.id;
        td.appendChild(a);
      } else {
        td.textContent = cells[i] || '';
      }
      tr.appendChild(td);
    }
    tr.className = 'fresh';
    body.insertBefore(tr, body.firstChild);
    while (body.children.length > 50) body.removeChild(body.lastChild);
  }

  function makeChart(doc) {
    var el = document.getElementById('chart');
    if (!el || typeof uPlot === 'undefined' || !doc.series) return;
    var s = doc.series;
    series = [s.t.slice(), s.jobs.slice(), s.calls.slice()];
    for (var i = 0; i < classes.length; i++) series.push((s.retries[classes[i]] || []).slice());
    var colors = ['#1f8a4c', '#2f5fd0', '#b7791f', '#c4352b', '#7b4fc9', '#d0622f', '#677083'];
    var opts = {
      width: Math.max(320, el.clientWidth - 16), height: 260,
      scales: { x: { time: true } },
      series: [{}, { label: 'jobs/s', stroke: colors[0] }, { label: 'IAM calls/s', stroke: colors[1] }],
      axes: [{}, { label: 'per second' }]
    };
    for (var c = 0; c < classes.length; c++) {
      opts.series.push({ label: 'retries ' + classes[c], stroke: colors[2 + c] });
    }
    chart = new uPlot(opts, series, el);
  }

  function addPoint(p) {
    if (!chart || !series || !p || !p.t || !p.t.length) return;
    var t = p.t[0];
    var last = series[0].length ? series[0][series[0].length - 1] : 0;
    if (t <= last) return;
    series[0].push(t); series[1].push(p.jobs[0]); series[2].push(p.calls[0]);
    for (var i = 0; i < classes.length; i++) series[3 + i].push(p.retries[classes[i]][0]);
    while (series[0].length > 3600) for (var k = 0; k < series.length; k++) series[k].shift();
    chart.setData(series);
  }

  function onTick(doc) {
    setText('counts', 'data-count', doc.counts);
    setText('queue', 'data-queue', doc.queue);
    if (doc.account_rates) {
      var cells = document.querySelectorAll('[data-account-rate]');
      for (var i = 0; i < cells.length; i++) {
        var a = cells[i].getAttribute('data-account-rate');
        if (Object.prototype.hasOwnProperty.call(doc.account_rates, a)) {
          cells[i].textContent = Number(doc.account_rates[a]).toFixed(1);
        }
      }
    }
    if (doc.events) for (var j = 0; j < doc.events.length; j++) addEventRow(doc.events[j]);
    addPoint(doc.point);
    document.body.setAttribute('data-ticks', String((parseInt(document.body.getAttribute('data-ticks') || '0', 10)) + 1));
  }

  if (page === 'overview') {
    fetch('/api/overview', { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (doc) { if (doc) makeChart(doc); })
      .catch(function () {});
  }
  if (page !== 'login' && page !== 'message' && typeof EventSource !== 'undefined') {
    var es = new EventSource('/api/events');
    es.addEventListener('open', function () {
      if (liveTag) { liveTag.textContent = 'live'; liveTag.className = 'live on'; }
    });
    es.addEventListener('error', function () {
      if (liveTag) { liveTag.textContent = 'live: reconnecting'; liveTag.className = 'live'; }
    });
    es.addEventListener('tick', function (m) {
      try { onTick(JSON.parse(m.data)); } catch (e) { /* a bad message is skipped */ }
    });
  }
})();
