{{- define "app.labels" -}}
app: {{ .Values.name | default "web" }}
{{- end }}

{{/* Renders a value with tpl, as Bitnami's common.tplvalues.render does. */}}
{{- define "app.render" -}}
{{- if typeIs "string" .value }}
{{- tpl .value .context }}
{{- else }}
{{- tpl (.value | toYaml) .context }}
{{- end }}
{{- end }}
