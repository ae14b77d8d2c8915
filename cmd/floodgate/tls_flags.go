package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"

	gostats "github.com/lyft/gostats"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/floodgate/floodgate/internal/serving"
	"github.com/floodgate/floodgate/internal/tlsfiles"
)

// The envoyproxy/ratelimit variables that configure its gRPC listener's
// TLS. They are the defaults of --tls-*: a flag or FLOODGATE_TLS_* wins.
const (
	envUseTLS    = "GRPC_SERVER_USE_TLS"
	envCert      = "GRPC_SERVER_TLS_CERT"
	envKey       = "GRPC_SERVER_TLS_KEY"
	envClientCA  = "GRPC_CLIENT_TLS_CACERT"
	envClientSAN = "GRPC_CLIENT_TLS_SAN"
)

// grpcTLSFlags secure a role's gRPC listener.
type grpcTLSFlags struct{ files tlsfiles.Files }

// register adds --tls-cert, --tls-key, --tls-client-ca and
// --tls-client-san, defaulting to the envoyproxy/ratelimit variables when
// GRPC_SERVER_USE_TLS is true (it alone turns them on there).
func (f *grpcTLSFlags) register(fs *flag.FlagSet) {
	env := func(name string) string {
		if on, _ := strconv.ParseBool(os.Getenv(envUseTLS)); on {
			return os.Getenv(name)
		}
		return ""
	}
	fs.StringVar(&f.files.CertFile, "tls-cert", env(envCert), "TLS certificate `file` of the gRPC listener (re-read when it changes); default $"+envCert+" if $"+envUseTLS+" is true")
	fs.StringVar(&f.files.KeyFile, "tls-key", env(envKey), "TLS key `file` of the gRPC listener; default $"+envKey+" if $"+envUseTLS+" is true")
	fs.StringVar(&f.files.CAFile, "tls-client-ca", env(envClientCA), "CA `file` of client certificates: clients must present one it signed (mTLS); default $"+envClientCA+" if $"+envUseTLS+" is true")
	fs.StringVar(&f.files.ClientSAN, "tls-client-san", env(envClientSAN), "DNS `name` every client certificate must carry (with --tls-client-ca); default $"+envClientSAN+" if $"+envUseTLS+" is true")
}

// serverOption is the listener's credentials; nil for plaintext.
func (f *grpcTLSFlags) serverOption(stats gostats.Scope) (grpc.ServerOption, error) {
	if v, ok := os.LookupEnv(envUseTLS); ok {
		if _, err := strconv.ParseBool(v); err != nil {
			return nil, fmt.Errorf("%s=%q: want true or false", envUseTLS, v)
		}
	}
	if !f.files.Enabled() {
		return nil, nil
	}
	cfg, err := f.files.ServerConfig(tlsfiles.ServerOptions{Options: tlsOptions(stats)})
	if err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key/--tls-client-ca: %w", err)
	}
	return grpc.Creds(credentials.NewTLS(cfg)), nil
}

// httpTLSFlags make a role's HTTP listener serve HTTPS.
type httpTLSFlags struct{ files tlsfiles.Files }

func (f *httpTLSFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.files.CertFile, "http-tls-cert", "", "TLS certificate `file` of the HTTP listener, which then serves HTTPS (re-read when it changes)")
	fs.StringVar(&f.files.KeyFile, "http-tls-key", "", "TLS key `file` of the HTTP listener")
}

// config is the listener's TLS; nil for plain HTTP.
func (f *httpTLSFlags) config(stats gostats.Scope) (*tls.Config, error) {
	if !f.files.Enabled() {
		return nil, nil
	}
	cfg, err := f.files.ServerConfig(tlsfiles.ServerOptions{Options: tlsOptions(stats)})
	if err != nil {
		return nil, fmt.Errorf("--http-tls-cert/--http-tls-key: %w", err)
	}
	return cfg, nil
}

// listenerTLSFlags secure both listeners of a serving role.
type listenerTLSFlags struct {
	grpc grpcTLSFlags
	http httpTLSFlags
}

func (f *listenerTLSFlags) register(fs *flag.FlagSet) {
	f.grpc.register(fs)
	f.http.register(fs)
}

// apply adds the listeners' TLS to o.
func (f *listenerTLSFlags) apply(o *serving.Options, stats gostats.Scope) error {
	creds, err := f.grpc.serverOption(stats)
	if err != nil {
		return err
	}
	if creds != nil {
		o.GRPC = append(o.GRPC, creds)
	}
	o.HTTPTLS, err = f.http.config(stats)
	return err
}

// tlsOptions count reloads with the role's stats (tls.reloaded,
// tls.reload_failed).
func tlsOptions(stats gostats.Scope) tlsfiles.Options {
	return tlsfiles.Options{Stats: stats, Logger: slog.Default()}
}

// registerTLS gives the xDS listener the --tls-* flags of every gRPC
// listener, keeping its older names --xds-cert, --xds-key and --xds-ca as
// the same settings.
func (f *controlPlaneFlags) registerTLS(fs *flag.FlagSet) {
	// Registered first: a flag's registration stores its default, and
	// --tls-* carry the environment's.
	fs.StringVar(&f.tls.files.CertFile, "xds-cert", "", "the same as --tls-cert")
	fs.StringVar(&f.tls.files.KeyFile, "xds-key", "", "the same as --tls-key")
	fs.StringVar(&f.tls.files.CAFile, "xds-ca", "", "the same as --tls-client-ca")
	f.tls.register(fs)
}
