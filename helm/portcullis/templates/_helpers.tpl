{{/*
Name of the chart, or nameOverride.
*/}}
{{- define "portcullis.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's objects: fullnameOverride, else release-name, without repeating the chart name.
Truncated to 52 characters so that suffixes (-management, -config, -rules) stay within 63.
*/}}
{{- define "portcullis.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "portcullis.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "portcullis.selectorLabels" -}}
app.kubernetes.io/name: {{ include "portcullis.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "portcullis.labels" -}}
helm.sh/chart: {{ include "portcullis.chart" . }}
{{ include "portcullis.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: portcullis
{{- end }}

{{- define "portcullis.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "portcullis.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "portcullis.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The configured listeners (config.portcullis.listeners), [] when none. */}}
{{- define "portcullis.listeners" -}}
{{- $portcullis := default dict .Values.config.portcullis }}
{{- $listeners := default list $portcullis.listeners }}
{{- $names := dict }}
{{- range $listeners }}
{{- if hasKey $names (toString .name) }}
{{- fail (printf "config.portcullis.listeners: listener name %q appears twice" .name) }}
{{- end }}
{{- $_ := set $names (toString .name) true }}
{{- end }}
{{- toYaml (dict "items" $listeners) }}
{{- end }}

{{/* Port of a listener's bind address: the digits after the last colon of host:port or [v6]:port. */}}
{{- define "portcullis.bindPort" -}}
{{- $bind := toString .bind }}
{{- if not (regexMatch ":[0-9]{1,5}$" $bind) }}
{{- fail (printf "config.portcullis.listeners: listener %q has bind %q; expected host:port" .name $bind) }}
{{- end }}
{{- regexReplaceAll "^.*:" $bind "" }}
{{- end }}

{{/*
Port name of a listener (IANA service name: at most 15 characters, lower case letters, digits, '-'):
"l-" and the listener's name, shortened, with '_' as '-'.
*/}}
{{- define "portcullis.portName" -}}
{{- printf "l-%s" (replace "_" "-" .) | trunc 15 | trimSuffix "-" }}
{{- end }}

{{/* Whether the chart provides rules.yaml (its own ConfigMap or an existing one). */}}
{{- define "portcullis.hasRules" -}}
{{- if or .Values.rules .Values.existingRulesConfigMap }}true{{ end }}
{{- end }}

{{- define "portcullis.rulesConfigMapName" -}}
{{- default (printf "%s-rules" (include "portcullis.fullname" .)) .Values.existingRulesConfigMap }}
{{- end }}

{{- define "portcullis.adminSecretName" -}}
{{- default (printf "%s-admin" (include "portcullis.fullname" .)) .Values.adminToken.existingSecret }}
{{- end }}

{{/*
application.yml: config, plus portcullis.rules pointing at the mounted rules ConfigMap and the two HTTP
ports (health and metrics on 9901, the admin API on 9902, on the pod's loopback unless adminService.enabled).
Fails early on
what the gateway would refuse at start and the chart can see: a listener that inspects without rules,
duplicate listener names.
*/}}
{{- define "portcullis.applicationYaml" -}}
{{- $config := deepCopy (default dict .Values.config) }}
{{- $portcullis := default dict (get $config "portcullis") }}
{{- $listeners := (include "portcullis.listeners" . | fromYaml).items }}
{{- if hasKey $portcullis "rules" }}
{{- fail "config.portcullis.rules: leave it out; the chart points it at the rules ConfigMap (values rules, rulesFiles or existingRulesConfigMap)" }}
{{- end }}
{{- if include "portcullis.hasRules" . }}
{{- $_ := set $portcullis "rules" "file:/etc/portcullis/rules/rules.yaml" }}
{{- else }}
{{- range $listeners }}
{{- if ne (toString (index . "conditional-accept")) "false" }}
{{- fail (printf "listener %q inspects (conditional-accept: true) but no policy is given: set rules (rules.yaml) or existingRulesConfigMap" .name) }}
{{- end }}
{{- end }}
{{- end }}
{{- if not .Values.adminToken.enabled }}
{{- range $name, $service := default dict (get $portcullis "decision-services") }}
{{- if eq (toString (dig "cache" "scope" "" (default dict $service))) "cluster" }}
{{- fail (printf "config.portcullis.decision-services.%s.cache.scope: cluster needs adminToken.enabled: the shared verdicts are signed with a key derived from the admin token" $name) }}
{{- end }}
{{- end }}
{{- end }}
{{- with include "portcullis.clusterRedisUrl" . }}
{{- $cluster := default dict (get $portcullis "cluster") }}
{{- $redis := default dict (get $cluster "redis") }}
{{- $_ := set $redis "url" . }}
{{- $_ := set $redis "timeout" $.Values.cluster.redis.timeout }}
{{- $_ := set $redis "lease-ttl" $.Values.cluster.redis.leaseTtl }}
{{- $_ := set $cluster "redis" $redis }}
{{- /* The pod's name (downward API): unique in the Deployment, and the pod an operator port-forwards to. */}}
{{- $_ := set $cluster "replica-id" "${PORTCULLIS_POD_NAME}" }}
{{- $_ := set $portcullis "cluster" $cluster }}
{{- end }}
{{- $_ := set $config "portcullis" $portcullis }}
{{- $server := default dict (get $config "server") }}
{{- $management := default dict (get $config "management") }}
{{- $managementServer := default dict (get $management "server") }}
{{- if or (hasKey $server "port") (hasKey $server "address") (hasKey $managementServer "port") (hasKey $managementServer "address") }}
{{- fail "config.server.port/address and config.management.server.port/address: leave them out; the chart puts health and metrics on port 9901 and the admin API on 9902 (adminService)" }}
{{- end }}
{{- /* Health and metrics on their own port, so that the Service, probes and scrapes never reach the admin API. */}}
{{- $_ := set $managementServer "port" 9901 }}
{{- $_ := set $management "server" $managementServer }}
{{- $_ := set $config "management" $management }}
{{- $_ := set $server "port" (include "portcullis.adminPort" . | int) }}
{{- if not .Values.adminService.enabled }}
{{- /* Only kubectl port-forward (which connects inside the pod) reaches it. */}}
{{- $_ := set $server "address" "127.0.0.1" }}
{{- end }}
{{- $_ := set $config "server" $server }}
{{- toYaml $config }}
{{- end }}

{{/*
portcullis.cluster.redis.url as application.yml says it, "" without a cluster: cluster.redis.url as given; with
existingSecret and passwordKey, the url with ":${PORTCULLIS_REDIS_PASSWORD}@" after the scheme (and user name);
with existingSecret and urlKey, "${PORTCULLIS_REDIS_URL}". The env vars come from the Secret (deployment.yaml).
Spring resolves the placeholders at start; without a default, an unset variable stays a literal that the gateway
refuses (url) or Redis does (password), never a silent "no cluster".
*/}}
{{- define "portcullis.clusterRedisUrl" -}}
{{- $r := .Values.cluster.redis }}
{{- if and (or $r.passwordKey $r.urlKey) (not $r.existingSecret) }}
{{- fail "cluster.redis.passwordKey and urlKey name keys of cluster.redis.existingSecret: set it too" }}
{{- end }}
{{- if $r.existingSecret }}
{{- if eq (not $r.passwordKey) (not $r.urlKey) }}
{{- fail "cluster.redis.existingSecret: set one of passwordKey (the password; url without it) and urlKey (the whole URL; no url)" }}
{{- end }}
{{- if $r.urlKey }}
{{- if $r.url }}
{{- fail "cluster.redis.url and urlKey: the URL comes from the Secret (urlKey); leave url empty, or use passwordKey" }}
{{- end }}
{{- print "${PORTCULLIS_REDIS_URL}" }}
{{- else }}
{{- if not $r.url }}
{{- fail "cluster.redis.passwordKey: the password goes into cluster.redis.url, which is empty" }}
{{- end }}
{{- regexReplaceAll "^([a-z-]+://)(([^:@/]+)@)?" $r.url "${1}${3}:$${PORTCULLIS_REDIS_PASSWORD}@" }}
{{- end }}
{{- else if $r.url }}
{{- if regexMatch "^[a-z-]+://[^@/]*:[^@/]*@" $r.url }}
{{- fail "cluster.redis.url holds a password, which would land in the ConfigMap: put it in a Secret (cluster.redis.existingSecret and passwordKey)" }}
{{- end }}
{{- $r.url }}
{{- end }}
{{- end }}

{{/* Whether the replicas share state through Redis (cluster.redis). */}}
{{- define "portcullis.clusterEnabled" -}}
{{- if include "portcullis.clusterRedisUrl" . }}true{{ end }}
{{- end }}

{{/* The replicas the Deployment may run at most: maxReplicas with autoscaling, else replicaCount. */}}
{{- define "portcullis.maxReplicas" -}}
{{- if .Values.autoscaling.enabled }}{{ .Values.autoscaling.maxReplicas }}{{ else }}{{ .Values.replicaCount }}{{ end }}
{{- end }}

{{/* Container port of the admin API (server.port); health and metrics are on 9901 (management.server.port). */}}
{{- define "portcullis.adminPort" -}}
9902
{{- end }}
