"""The JSON helpers every scenario module of scripts/bench shares: goal() (a figure with its
goal and pass/miss) and r() (rounding that keeps None)."""
from __future__ import annotations


def goal(name: str, value, op: str, target, unit: str = "") -> dict:
    if value is None:
        ok = None
    elif op == ">=":
        ok = value >= target
    else:
        ok = value <= target
    return {"figure": name, "value": value, "goal": f"{op} {target}{(' ' + unit) if unit else ''}",
            "result": "n/a" if ok is None else ("pass" if ok else "miss"),
            "met": ok}


def r(x, digits=3):
    return None if x is None else round(x, digits)


def percentile(values, q: float):
    """Nearest-rank percentile (q in 0..100) of a non-empty list, None for an empty one."""
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(-(-q * len(v) // 100)) - 1))
    return v[k]
