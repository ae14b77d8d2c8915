package serving

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// Connections that send slowly, or nothing, are closed by the HTTP
// server's timeouts instead of held: a trickled body, unfinished headers,
// and an idle keep-alive connection.
func TestHTTPCutsSlowClients(t *testing.T) {
	s := New(Options{ReadHeaderTimeout: 100 * time.Millisecond, ReadTimeout: 200 * time.Millisecond, IdleTimeout: 200 * time.Millisecond})
	s.Mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	})
	l, _, _ := start(t, s)
	addr := l.HTTP.Addr().String()
	for _, tc := range []struct {
		name string
		send string // what the client sends before it goes quiet
	}{
		{"body trickle", "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n{"},
		{"unfinished headers", "GET / HTTP/1.1\r\nHost: x\r\n"},
		{"idle keep-alive", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, tc.send); err != nil {
				t.Fatal(err)
			}
			// The server closes the connection well before this deadline;
			// without timeouts the read runs into it.
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = io.Copy(io.Discard, bufio.NewReader(c))
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("connection still open after 5s: the server holds it")
			}
		})
	}
}
