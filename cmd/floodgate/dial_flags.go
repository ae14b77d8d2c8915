package main

import (
	"flag"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/floodgate/floodgate/internal/tlsfiles"
)

// dialFlags say how a command-line tool (client, bench --addr) reaches an
// RLS: plaintext, or TLS when --ca is given, mTLS with --cert and --key.
type dialFlags struct{ tls tlsfiles.Files }

func (f *dialFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.tls.CAFile, "ca", "", "CA `file` that signed the RLS's certificate (enables TLS)")
	fs.StringVar(&f.tls.CertFile, "cert", "", "client certificate `file` for an RLS that requires mTLS")
	fs.StringVar(&f.tls.KeyFile, "key", "", "client key `file` for an RLS that requires mTLS")
	fs.StringVar(&f.tls.ServerName, "server-name", "", "name to verify the RLS's certificate against (default: the host of --addr)")
}

// option is the transport of the flags.
func (f *dialFlags) option() (grpc.DialOption, error) {
	if !f.tls.Enabled() {
		return grpc.WithTransportCredentials(insecure.NewCredentials()), nil
	}
	if f.tls.CAFile == "" {
		return nil, fmt.Errorf("--cert/--key/--server-name: TLS needs --ca, the CA of the RLS's certificate")
	}
	creds, err := f.tls.ClientCredentials(tlsfiles.Options{})
	if err != nil {
		return nil, fmt.Errorf("--ca/--cert/--key: %w", err)
	}
	return grpc.WithTransportCredentials(creds), nil
}
