package controlplane

import (
	"net/http"

	stats "github.com/lyft/gostats"
)

// countWrites counts admin writes under xds.server.admin.<method>.<outcome>:
// accepted (2xx) or refused (any other answer, unauthorized included).
func countWrites(scope stats.Scope, method string, h http.HandlerFunc) http.HandlerFunc {
	accepted := scope.NewCounter("admin." + method + ".accepted")
	refused := scope.NewCounter("admin." + method + ".refused")
	return func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h(rec, r)
		if rec.status/100 == 2 {
			accepted.Inc()
		} else {
			refused.Inc()
		}
	}
}

// statusRecorder keeps the status a handler answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
