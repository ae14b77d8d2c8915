package ratelimitenv

import (
	"net"
	"strconv"
	"strings"
	"time"
)

// listeners reads the addresses, their TLS and the connection ages. Every
// listener of envoyproxy/ratelimit is on all interfaces by default, its
// debug listener included.
func (r *reader) listeners() {
	r.set("http-addr", r.addr("HOST", "0.0.0.0", "PORT", 8080), "HOST", "PORT")
	if uds := r.str("GRPC_UDS", ""); uds != "" {
		r.set("grpc-addr", "unix://"+uds, "GRPC_UDS")
	} else {
		r.set("grpc-addr", r.addr("GRPC_HOST", "0.0.0.0", "GRPC_PORT", 8081), "GRPC_HOST", "GRPC_PORT")
	}
	r.set("debug-addr", r.addr("DEBUG_HOST", "0.0.0.0", "DEBUG_PORT", 6070), "DEBUG_HOST", "DEBUG_PORT")
	r.set("max-connection-age", r.duration("GRPC_MAX_CONNECTION_AGE", 24*time.Hour).String(), "GRPC_MAX_CONNECTION_AGE")
	r.set("max-connection-age-grace", r.duration("GRPC_MAX_CONNECTION_AGE_GRACE", time.Hour).String(), "GRPC_MAX_CONNECTION_AGE_GRACE")
	if r.boolean("GRPC_SERVER_USE_TLS", false) {
		r.fromVar("tls-cert", "GRPC_SERVER_TLS_CERT")
		r.fromVar("tls-key", "GRPC_SERVER_TLS_KEY")
		r.fromVar("tls-client-ca", "GRPC_CLIENT_TLS_CACERT")
		r.fromVar("tls-client-san", "GRPC_CLIENT_TLS_SAN")
	}
}

func (r *reader) addr(hostVar, host, portVar string, port int) string {
	return net.JoinHostPort(r.str(hostVar, host), strconv.Itoa(r.integer(portVar, port)))
}

// fromVar sets flag to the variable's value when it is set.
func (r *reader) fromVar(flag, name string) {
	if r.has(name) {
		r.set(flag, r.str(name, ""), name)
	}
}

// boolVar sets a boolean flag when the variable is set.
func (r *reader) boolVar(flag, name string) {
	if r.has(name) {
		r.set(flag, strconv.FormatBool(r.boolean(name, false)), name)
	}
}

// logs reads logrus' level names into slog's and the format.
func (r *reader) logs() {
	v := r.str("LOG_LEVEL", "WARN")
	level := ""
	switch lower(v) {
	case "trace", "debug":
		level = "debug"
	case "info":
		level = "info"
	case "warn", "warning":
		level = "warn"
	case "error", "fatal", "panic":
		level = "error"
	default:
		r.fail("LOG_LEVEL", v, "want one of trace, debug, info, warn, error, fatal, panic")
	}
	r.set("log-level", level, "LOG_LEVEL")
	format := "text"
	if strings.EqualFold(r.str("LOG_FORMAT", "text"), "json") {
		format = "json"
	}
	r.set("log-format", format, "LOG_FORMAT")
}
