// Package tokenfile reads shared secrets from a file, one token a line,
// and keeps them current as the file rotates (see internal/filereload):
// an engine checks a replica's bearer token against them, and a replica
// sends the first as its own.
package tokenfile

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	stats "github.com/lyft/gostats"
	"google.golang.org/grpc/credentials"

	"github.com/floodgate/floodgate/internal/filereload"
)

// Options tune how the file is kept current; the zero value works.
type Options struct {
	// Stats receives token_file.reloaded and token_file.reload_failed.
	Stats  stats.Scope
	Logger *slog.Logger
	Every  time.Duration    // least time between two checks; default 1s
	Now    func() time.Time // time.Now when nil
}

// File is the tokens of one file.
type File struct {
	path string
	v    *filereload.Value[[]string]
}

// Open reads path, which must hold at least one token. Blank lines and
// lines starting with # are skipped; spaces around a token are not part
// of it.
func Open(path string, o Options) (*File, error) {
	var scope stats.Scope
	if o.Stats != nil {
		scope = o.Stats.Scope("token_file")
	}
	v, err := filereload.New(filereload.Options[[]string]{
		Paths: []string{path}, Load: func() ([]string, error) { return read(path) },
		Every: o.Every, Stats: scope, Logger: o.Logger, Now: o.Now,
	})
	if err != nil {
		return nil, err
	}
	return &File{path: path, v: v}, nil
}

func read(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	var tokens []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		tokens = append(tokens, line)
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("token file %s: no token", path)
	}
	return tokens, nil
}

// Path is the file read.
func (f *File) Path() string { return f.path }

// Contains reports whether token is one of the file's, in time that does
// not depend on where the tokens differ.
func (f *File) Contains(token string) bool {
	found := 0
	for _, t := range f.v.Current() {
		found |= subtle.ConstantTimeCompare([]byte(t), []byte(token))
	}
	return found == 1
}

// First is the token a client sends: the file's first.
func (f *File) First() string { return f.v.Current()[0] }

// Bearer sends the file's first token with every RPC as
// "authorization: Bearer <token>". It needs transport security unless
// loopback says the connection never leaves the host (grpc-go refuses to
// send such credentials in the clear otherwise).
type Bearer struct {
	File     *File
	Loopback bool
}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (b Bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	if b.File == nil {
		return nil, errors.New("token file: none configured")
	}
	return map[string]string{"authorization": "Bearer " + b.File.First()}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (b Bearer) RequireTransportSecurity() bool { return !b.Loopback }

var _ credentials.PerRPCCredentials = Bearer{}
