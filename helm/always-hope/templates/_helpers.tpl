{{/* The chart's name, overridable. */}}
{{- define "always-hope.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: the prefix of every object's name. */}}
{{- define "always-hope.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "always-hope.selectorLabels" -}}
app.kubernetes.io/name: {{ include "always-hope.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The server's pods: what the Deployment and the Service select (the migration Job's pods are not among them). */}}
{{- define "always-hope.serverSelectorLabels" -}}
{{ include "always-hope.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{- define "always-hope.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "always-hope.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "always-hope.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "always-hope.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "always-hope.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The Secret holding DATABASE_URL and APP_DATABASE_URL: the operator's, or the chart's. */}}
{{- define "always-hope.secretName" -}}
{{- default (include "always-hope.fullname" .) .Values.database.existingSecret }}
{{- end }}

{{/*
The non-secret settings, one map for both the ConfigMap (read by the pods) and the migration Job (which runs
before the ConfigMap exists on a first install). Fails on settings the service would refuse at start-up.
*/}}
{{- define "always-hope.config" -}}
{{- if gt (int .Values.config.databasePool.min) (int .Values.config.databasePool.max) }}
{{- fail "config.databasePool.min must not exceed config.databasePool.max" }}
{{- end }}
{{- if and (eq .Values.otel.exporter "otlp") (not .Values.otel.endpoint) }}
{{- fail "otel.endpoint is required when otel.exporter is otlp" }}
{{- end -}}
ALWAYS_HOPE_ENV: {{ .Values.config.environment | quote }}
ALWAYS_HOPE_LOG_LEVEL: {{ .Values.config.logLevel | quote }}
ALWAYS_HOPE_ROLE_PREFIX: {{ .Values.config.rolePrefix | quote }}
ALWAYS_HOPE_DATA_DIR: "/tmp/always-hope"
DATABASE_POOL_MIN: {{ .Values.config.databasePool.min | quote }}
DATABASE_POOL_MAX: {{ .Values.config.databasePool.max | quote }}
AUTH_ISSUER: {{ required "auth.issuer is required: the OIDC issuer whose tokens are accepted" .Values.auth.issuer | quote }}
AUTH_AUDIENCE: {{ .Values.auth.audience | quote }}
AUTH_JWKS_URL: {{ required "auth.jwksUrl is required: the issuer's JWKS URL" .Values.auth.jwksUrl | quote }}
ALWAYS_HOPE_OTEL_EXPORTER: {{ .Values.otel.exporter | quote }}
OTEL_SERVICE_NAME: {{ .Values.otel.serviceName | quote }}
{{- if .Values.otel.endpoint }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ .Values.otel.endpoint | quote }}
{{- end }}
{{- end }}

{{/* The database URLs, for the chart's Secrets; only called when no existingSecret is given. */}}
{{- define "always-hope.secretData" -}}
DATABASE_URL: {{ required "database.url (or database.existingSecret) is required" .Values.database.url | b64enc | quote }}
{{- if .Values.database.appUrl }}
APP_DATABASE_URL: {{ .Values.database.appUrl | b64enc | quote }}
{{- end }}
{{- end }}

{{- define "always-hope.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.runAsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "always-hope.containerSecurityContext" -}}
runAsNonRoot: true
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
capabilities:
  drop: ["ALL"]
{{- end }}
