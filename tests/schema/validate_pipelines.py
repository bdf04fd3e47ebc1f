#!/usr/bin/env python3
"""Check every shipped pipeline against the committed JSON Schema (a small
subset validator: types, required, enum, const, min/max, additionalProperties,
oneOf by the `plugin` const) — what an editor with the schema would flag."""
import json, sys, tomllib, pathlib

schema = json.load(open(sys.argv[1]))
variants = {v["properties"]["plugin"]["const"]: v for v in schema["properties"]["stage"]["items"]["oneOf"]}
TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict}
errors = []
for path in sorted(pathlib.Path(sys.argv[2]).glob("*.toml")):
    doc = tomllib.load(open(path, "rb"))
    for key in doc:
        if key not in schema["properties"]:
            errors.append(f"{path.name}: unknown top-level key {key}")
    for st in doc.get("stage", []):
        v = variants.get(st.get("plugin"))
        if v is None:
            errors.append(f"{path.name}: stage {st.get('id')}: unknown plugin {st.get('plugin')}")
            continue
        for req in v["required"]:
            if req not in st:
                errors.append(f"{path.name}: stage {st['id']}: missing {req}")
        for k, val in st.items():
            p = v["properties"].get(k)
            if p is None:
                errors.append(f"{path.name}: stage {st['id']}: unknown key {k}")
                continue
            t = p.get("type")
            if t and (not isinstance(val, TYPES[t]) or (t in ("integer", "number") and isinstance(val, bool))):
                errors.append(f"{path.name}: stage {st['id']}: {k} is not {t}")
            if "enum" in p and val not in p["enum"]:
                errors.append(f"{path.name}: stage {st['id']}: {k}={val!r} not in {p['enum']}")
            if "minimum" in p and isinstance(val, (int, float)) and val < p["minimum"]:
                errors.append(f"{path.name}: stage {st['id']}: {k} below minimum")
            if "maximum" in p and isinstance(val, (int, float)) and val > p["maximum"]:
                errors.append(f"{path.name}: stage {st['id']}: {k} above maximum")
print("\n".join(errors) if errors else "all pipelines conform to the schema")
sys.exit(1 if errors else 0)
