#!/bin/sh
# Rendered by kubestrap: keepalived tracks this; a failure lowers the node below every healthy one.
[ "$(curl -fsk --max-time 2 https://127.0.0.1:6443/healthz)" = ok ]
