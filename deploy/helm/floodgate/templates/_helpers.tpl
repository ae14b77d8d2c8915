{{- define "floodgate.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The name of one role's Deployment and Service. */}}
{{- define "floodgate.roleName" -}}
{{- printf "%s-%s" (include "floodgate.fullname" .root) .role -}}
{{- end -}}

{{- define "floodgate.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "floodgate.labels" -}}
{{ include "floodgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "floodgate.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "floodgate.brokers" -}}
{{- required "redis.brokers: at least one Redis URL" (join "," .Values.redis.brokers) -}}
{{- end -}}

{{- define "floodgate.tlsDir" -}}/etc/floodgate/tls{{- end -}}
{{- define "floodgate.tokenFile" -}}/etc/floodgate/engine-token/token{{- end -}}

{{/* Arguments every role takes: logging, and the pod name as its xDS node id. */}}
{{- define "floodgate.commonArgs" -}}
- --log-format={{ .Values.log.format }}
- --log-level={{ .Values.log.level }}
{{- end -}}

{{/* The gRPC listener's TLS: its certificate and, with clientAuth, mTLS. */}}
{{- define "floodgate.serverTLSArgs" -}}
{{- if .Values.tls.enabled }}
- --tls-cert={{ include "floodgate.tlsDir" . }}/tls.crt
- --tls-key={{ include "floodgate.tlsDir" . }}/tls.key
{{- if .Values.tls.clientAuth }}
- --tls-client-ca={{ include "floodgate.tlsDir" . }}/ca.crt
{{- end }}
{{- end }}
{{- end -}}

{{/* Replicas and engines take their policies from the control plane. */}}
{{- define "floodgate.xdsArgs" -}}
- --xds={{ include "floodgate.roleName" (dict "root" . "role" "control-plane") }}:{{ .Values.controlPlane.grpcPort }}
- --node-id=$(POD_NAME)
{{- if .Values.tls.enabled }}
- --xds-ca={{ include "floodgate.tlsDir" . }}/ca.crt
- --xds-cert={{ include "floodgate.tlsDir" . }}/tls.crt
- --xds-key={{ include "floodgate.tlsDir" . }}/tls.key
{{- end }}
{{- end -}}

{{- define "floodgate.podEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef: { fieldPath: metadata.name }
{{- end -}}

{{/*
Probes. Kubernetes' gRPC probes ask the gRPC health service `service` in
plaintext; a TLS listener cannot answer them, so with TLS readiness asks the
HTTP health path, which follows the same state. Liveness asks only whether the
gRPC port accepts connections when `liveOnTCP` is set: a replica whose engines
are down still answers (--on-engine-down) and restarting it would drop the
tokens it holds.
*/}}
{{- define "floodgate.probes" -}}
readinessProbe:
{{- if .root.Values.tls.enabled }}
  httpGet: { path: {{ .httpPath }}, port: http }
{{- else }}
  grpc: { port: {{ .grpcPort }}, service: {{ .service | quote }} }
{{- end }}
  periodSeconds: 5
  failureThreshold: 2
livenessProbe:
{{- if or .liveOnTCP .root.Values.tls.enabled }}
  tcpSocket: { port: grpc }
{{- else }}
  grpc: { port: {{ .grpcPort }}, service: "" }
{{- end }}
  initialDelaySeconds: 5
  periodSeconds: 10
  failureThreshold: 3
{{- end -}}

{{/* The TLS secret's and, with token, the engine token's mounts and volumes. */}}
{{- define "floodgate.volumeMounts" -}}
{{- if .root.Values.tls.enabled }}
- name: tls
  mountPath: {{ include "floodgate.tlsDir" .root }}
  readOnly: true
{{- end }}
{{- if and .token .root.Values.engineToken.enabled }}
- name: engine-token
  mountPath: {{ dir (include "floodgate.tokenFile" .root) }}
  readOnly: true
{{- end }}
{{- end -}}

{{- define "floodgate.volumes" -}}
{{- if .root.Values.tls.enabled }}
- name: tls
  secret:
    secretName: {{ .root.Values.tls.secretName }}
{{- end }}
{{- if and .token .root.Values.engineToken.enabled }}
- name: engine-token
  secret:
    secretName: {{ include "floodgate.tokenSecretName" .root }}
    items: [{ key: token, path: token }]
{{- end }}
{{- end -}}

{{- define "floodgate.tokenSecretName" -}}
{{- .Values.engineToken.existingSecret | default (printf "%s-engine-token" (include "floodgate.fullname" .)) -}}
{{- end -}}

{{/* Pod-level settings every role shares. */}}
{{- define "floodgate.podSpec" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
