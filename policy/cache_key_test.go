package policy

import "testing"

func TestAppendCacheKey(t *testing.T) {
	shared := &Limit{SharedValue: []string{"files/*", ""}}
	own := &Limit{SharedValue: []string{"", ""}}
	tests := []struct {
		name  string
		limit *Limit
		want  string
	}{
		{"each value its own counter", own, "rl_api_path_files/a.pdf_user_u1_1700000000"},
		{"shared wildcard counts under the pattern", shared, "rl_api_path_files/*_user_u1_1700000000"},
		{"no limit", nil, "rl_api_path_files/a.pdf_user_u1_1700000000"},
	}
	r := req("path", "files/a.pdf", "user", "u1")
	for _, tt := range tests {
		if got := string(AppendCacheKey(nil, "rl_", "api", r, tt.limit, 1700000000)); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	buf := make([]byte, 0, 128)
	if n := testing.AllocsPerRun(100, func() { buf = AppendCacheKey(buf[:0], "rl_", "api", r, shared, 1) }); n != 0 {
		t.Errorf("AppendCacheKey allocates %v times", n)
	}
}
