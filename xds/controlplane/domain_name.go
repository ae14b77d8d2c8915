package controlplane

import (
	"errors"
	"fmt"
)

// MaxDomainBytes is the longest domain name the admin API takes.
const MaxDomainBytes = 128

// checkDomainName admits the names the admin API stores and serves: 1 to
// MaxDomainBytes of letters, digits, '.', '_' and '-', beginning with a
// letter or a digit. Names are store keys and appear in URLs, logs and stat
// names, so nothing that reads as a path ("../../etc/x"), a separator or
// a control character gets in.
func checkDomainName(name string) error {
	switch {
	case name == "":
		return errors.New("domain name is empty")
	case len(name) > MaxDomainBytes:
		return fmt.Errorf("domain name is %d bytes long; the maximum is %d", len(name), MaxDomainBytes)
	case !alnum(name[0]):
		return fmt.Errorf("domain name %q must begin with a letter or a digit", name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !alnum(c) && c != '.' && c != '_' && c != '-' {
			return fmt.Errorf("domain name %q: character %q at byte %d is not allowed (letters, digits, '.', '_' and '-' are)", name, c, i)
		}
	}
	return nil
}

func alnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
