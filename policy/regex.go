package policy

import (
	"fmt"
	"regexp"
	"regexp/syntax"
)

// compileRegex compiles a `match: regex` value (Go's RE2 syntax). The rule:
// a regex must say that it matches the whole value, starting with ^ and
// ending with $ — on every branch when its top level is an alternation. So
// '^/v1/users/[0-9]+$' and '^(a|b)$' are accepted, while '/v1/users' (a
// substring match, which most writers do not mean) and '^a|b$' (which
// matches "a..." or "...b", not "a" or "b") are refused. (?m) makes ^ and $
// match at line breaks, so it does not anchor.
func compileRegex(s string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, fmt.Errorf("invalid regex %q: %v", s, unwrapSyntax(err))
	}
	tree, err := syntax.Parse(s, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("invalid regex %q: %v", s, unwrapSyntax(err))
	}
	if !anchoredStart(tree) || !anchoredEnd(tree) {
		return nil, fmt.Errorf("regex %q is not anchored: it must match the whole value, so write it as ^...$ (every alternative anchored, or grouped as ^(?:a|b)$)", s)
	}
	return re, nil
}

func unwrapSyntax(err error) error {
	if se, ok := err.(*syntax.Error); ok {
		return fmt.Errorf("%s: %s", se.Code, se.Expr)
	}
	return err
}

func anchoredStart(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginText:
		return true
	case syntax.OpConcat:
		return len(re.Sub) > 0 && anchoredStart(re.Sub[0])
	case syntax.OpCapture:
		return anchoredStart(re.Sub[0])
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if !anchoredStart(s) {
				return false
			}
		}
		return true
	}
	return false
}

func anchoredEnd(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpEndText:
		return true
	case syntax.OpConcat:
		return len(re.Sub) > 0 && anchoredEnd(re.Sub[len(re.Sub)-1])
	case syntax.OpCapture:
		return anchoredEnd(re.Sub[0])
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if !anchoredEnd(s) {
				return false
			}
		}
		return true
	}
	return false
}
