package examples

import (
	"fmt"
	"io/fs"
	"path"

	"github.com/floodgate/floodgate/policy"
)

// Snapshot compiles the embedded example policies, which a bare
// `floodgate` serves.
func Snapshot() (*policy.Snapshot, error) {
	entries, err := fs.ReadDir(Policies, "policies")
	if err != nil {
		return nil, err
	}
	var configs []*policy.Config
	for _, e := range entries {
		name := path.Join("policies", e.Name())
		data, err := fs.ReadFile(Policies, name)
		if err != nil {
			return nil, err
		}
		c, err := policy.Parse("examples/"+name, data)
		if err != nil {
			return nil, fmt.Errorf("built-in example: %w", err)
		}
		configs = append(configs, c)
	}
	return policy.Compile(configs)
}
