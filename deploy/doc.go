// Package deploy holds the files that run ferry in production: the
// container image (Dockerfile, build.sh), Kubernetes manifests, a systemd
// unit, Prometheus alerting rules and a Grafana dashboard. It has no Go
// code; its tests check those files: the rules with Prometheus' own rule
// parser, every query against the metrics ferry exports, the embedded
// configurations with ferry's loader, and the image's build step.
package deploy
