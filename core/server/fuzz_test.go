package server

import (
	"net"
	"testing"
	"time"
)

// FuzzParser feeds arbitrary bytes to a client connection. Whatever the
// input, the server must answer with protocol (or close the connection),
// never crash or hang, and keep serving other clients.
func FuzzParser(f *testing.F) {
	seeds := []string{
		"CONNECT {}\r\nPING\r\n",
		"CONNECT {\"verbose\":true,\"headers\":true}\r\nSUB foo 1\r\nPUB foo 5\r\nhello\r\n",
		"HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
		"SUB foo q 1\r\nUNSUB 1 5\r\n",
		"PUB foo 99999999999\r\n",
		"PUB foo -1\r\n",
		"PUB\r\n",
		"SUB\r\n",
		"UNSUB\r\n",
		"HPUB foo 10 5\r\n",
		"CONNECT {bad json\r\n",
		"PUB foo 3\r\nabcdef\r\n",
		"\r\n\r\n",
		"PING",
		"sub a.* 1\r\npub a.b 1\r\nx\r\n",
		"CONNECT {\"protocol\":2}\r\n",
		"SUB foo..bar 1\r\n",
		"PUB foo.* 1\r\nx\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	s := runServer(f, &Options{MaxPayload: 1024, MaxControlLine: 256})
	f.Fuzz(func(t *testing.T, in []byte) {
		// net.Pipe keeps each execution in memory and fast; the server
		// side runs the same createClient path as a TCP connection.
		cn, sn := net.Pipe()
		defer cn.Close()
		go s.createClient(sn)
		go func() {
			cn.Write(in)
			cn.Write([]byte("\r\nPING\r\n"))
		}()
		cn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		buf := make([]byte, 64*1024)
		for {
			if _, err := cn.Read(buf); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					// A payload may legitimately still be awaited; the
					// server must still serve others.
					checkAlive(t, s)
				}
				return
			}
		}
	})
}

func checkAlive(t *testing.T, s *Server) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", s.HostPort(), time.Second)
	if err != nil {
		t.Fatalf("server not accepting: %v", err)
	}
	defer nc.Close()
	nc.Write([]byte("CONNECT {}\r\nPING\r\n"))
	nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 4096)
	var got []byte
	for {
		n, err := nc.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("server not answering PING: %v (%q)", err, got)
		}
		if len(got) >= 6 && string(got[len(got)-6:]) == "PONG\r\n" {
			return
		}
	}
}
