#!/usr/bin/env bash
# The dependency audit (a CI step of its own): pip-audit against exactly what the project's
# virtualenv runs (`pip freeze`: the pins and everything they pull in), with PyPI's
# advisory data. Fails on a known vulnerability that has a fixed version; lists the
# advisories without a fix and the packages the advisory service could not answer for.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_venv dev
AUDIT=${AUDIT_VENV:-.venv-audit}  # pip-audit in its own venv: its dependencies stay out of ours
[ -x "$AUDIT/bin/pip-audit" ] || {
  log "installing pip-audit"; "$PYTHON" -m venv "$AUDIT"
  "$AUDIT/bin/pip" install --quiet --disable-pip-version-check "pip-audit==2.10.1"
}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
"$VENV/bin/pip" freeze --exclude-editable --disable-pip-version-check > "$work/frozen.txt"
status=0
"$AUDIT/bin/pip-audit" --disable-pip --no-deps --progress-spinner off -r "$work/frozen.txt" \
  -f json -o "$work/audit.json" 2> "$work/audit.log" || status=$?
[ -s "$work/audit.json" ] || { cat "$work/audit.log" >&2; exit "${status:-1}"; }
"$VENV/bin/python" - "$work/audit.json" <<'PY'
import json, sys

report = json.load(open(sys.argv[1]))
fixable, unfixed, skipped = [], [], []
for dep in report["dependencies"]:
    if "skip_reason" in dep:
        skipped.append(dep["name"])
    for vuln in dep.get("vulns", []):
        line = f"{dep['name']} {dep['version']}: {vuln['id']} (fixed in {', '.join(vuln['fix_versions']) or 'no release yet'})"
        (fixable if vuln["fix_versions"] else unfixed).append(line)
audited = len(report["dependencies"]) - len(skipped)
print(f"[audit] {audited} packages audited, {len(skipped)} not answered for by the advisory service")
if skipped:
    print("[audit] not audited: " + ", ".join(sorted(skipped)))
for line in unfixed:
    print(f"[audit] known, no fix yet: {line}")
for line in fixable:
    print(f"[audit] VULNERABLE, fix available: {line}")
sys.exit(1 if fixable else 0)
PY
