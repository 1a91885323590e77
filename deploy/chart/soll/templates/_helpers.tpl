{{/*
Labels of every object: soll install's two, and Helm's.
*/}}
{{- define "soll.labels" -}}
app.kubernetes.io/name: soll
app.kubernetes.io/part-of: soll
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/version: {{ .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" | quote }}
{{- end }}

{{/*
The container image: repository@digest, or repository:tag with the chart's
appVersion as the default tag.
*/}}
{{- define "soll.image" -}}
{{- if not .Values.image.repository -}}
{{- fail "image.repository: set the image's repository, such as ghcr.io/you/soll" -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end }}

{{/*
soll's SSO callback: oidc.redirectURL, or the ingress host's.
*/}}
{{- define "soll.redirectURL" -}}
{{- if .Values.oidc.redirectURL -}}
{{- .Values.oidc.redirectURL -}}
{{- else if and .Values.ingress.enabled .Values.ingress.host -}}
{{- printf "https://%s/auth/callback" .Values.ingress.host -}}
{{- else -}}
{{- fail "oidc.redirectURL: set soll's callback, https://<soll's host>/auth/callback, or enable the ingress with a host" -}}
{{- end -}}
{{- end }}

{{/*
The key oidc.config of soll-config, as soll parses it; empty without SSO.
*/}}
{{- define "soll.oidcConfig" -}}
{{- with .Values.oidc -}}
{{- if .issuer -}}
{{- if not .clientID -}}
{{- fail "oidc.clientID: set soll's client ID at the provider, or leave oidc.issuer empty to turn SSO off" -}}
{{- end -}}
{{- $cfg := dict "issuer" .issuer "clientID" .clientID "redirectURL" (include "soll.redirectURL" $) -}}
{{- with .scopes }}{{ $_ := set $cfg "scopes" . }}{{ end -}}
{{- with .groupsClaim }}{{ $_ := set $cfg "groupsClaim" . }}{{ end -}}
{{- toYaml $cfg -}}
{{- else if .clientSecret.existingSecret -}}
{{- fail "oidc.clientSecret.existingSecret is set but oidc.issuer is not: set the issuer (and clientID) to turn SSO on" -}}
{{- end -}}
{{- end -}}
{{- end }}
