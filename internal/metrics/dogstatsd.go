package metrics

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
)

// dogstatsdPacket is the most a datagram carries: what fits an Ethernet
// MTU once IP and UDP headers are taken, as DogStatsD clients use.
const dogstatsdPacket = 1432

// DogStatsdSink sends stats over UDP in DogStatsD's format, tags
// serialized in a name by gostats (".__key=value") sent as DogStatsD tags,
// as envoyproxy/ratelimit's USE_DOG_STATSD sink does
// (src/godogstats/dogstatsd_sink.go). Lines are packed into datagrams and
// sent when one is full or on Flush.
type DogStatsdSink struct {
	conn net.Conn

	mu  sync.Mutex
	buf []byte
}

// NewDogStatsdSink returns a sink sending to addr (host:port) over UDP.
func NewDogStatsdSink(addr string) (*DogStatsdSink, error) {
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("dogstatsd %s: %w", addr, err)
	}
	return &DogStatsdSink{conn: conn, buf: make([]byte, 0, dogstatsdPacket)}, nil
}

func (s *DogStatsdSink) FlushCounter(name string, v uint64) {
	s.write(name, strconv.AppendUint(nil, v, 10), "c")
}

func (s *DogStatsdSink) FlushGauge(name string, v uint64) {
	s.write(name, strconv.AppendUint(nil, v, 10), "g")
}

func (s *DogStatsdSink) FlushTimer(name string, ms float64) {
	s.write(name, strconv.AppendFloat(nil, ms, 'f', -1, 64), "ms")
}

// Flush sends what is buffered.
func (s *DogStatsdSink) Flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.send()
}

// Close sends what is buffered and closes the socket.
func (s *DogStatsdSink) Close() error {
	s.Flush()
	return s.conn.Close()
}

func (s *DogStatsdSink) write(serialized string, value []byte, kind string) {
	name, tags := SplitTags(serialized)
	line := make([]byte, 0, len(serialized)+len(value)+8)
	line = append(line, name...)
	line = append(line, ':')
	line = append(line, value...)
	line = append(line, '|')
	line = append(line, kind...)
	if len(tags) > 0 {
		line = append(line, "|#"...)
		line = append(line, strings.Join(tags, ",")...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.buf) > 0 && len(s.buf)+1+len(line) > dogstatsdPacket {
		s.send()
	}
	if len(s.buf) > 0 {
		s.buf = append(s.buf, '\n')
	}
	s.buf = append(s.buf, line...)
}

// send writes the buffer as one datagram; a lost datagram is a lost
// sample, as statsd over UDP accepts, so the error is dropped.
func (s *DogStatsdSink) send() {
	if len(s.buf) == 0 {
		return
	}
	_, _ = s.conn.Write(s.buf)
	s.buf = s.buf[:0]
}
