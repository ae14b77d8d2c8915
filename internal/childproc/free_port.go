package childproc

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// FreePort returns a loopback TCP port that was free a moment ago, for a
// child to bind. It is drawn at random below the kernel's ephemeral range:
// a port in that range can be handed to any outgoing connection (a client
// dialing Redis, say) between this call and the child's bind, or between a
// child's stop and its restart on the same port; and a random draw makes
// two test processes choosing at once unlikely to meet.
func FreePort() (int, error) {
	if low := ephemeralLow(); low > firstPort+1000 {
		for range 100 {
			port := firstPort + rand.IntN(low-firstPort)
			if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
				l.Close()
				return port, nil
			}
		}
	}
	// No room below the ephemeral range: let the kernel choose.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// firstPort is the lowest port FreePort draws: above the ports services
// are commonly configured on.
const firstPort = 20000

// ephemeralLow is the first port of the kernel's ephemeral range (Linux),
// 32768 where it cannot be read.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	low, err := strconv.Atoi(strings.Fields(string(b) + " x")[0])
	if err != nil {
		return 32768
	}
	return low
}
