// A Benthos (Redpanda Connect's engine) binary with the pure and io components only: what the
// stdin → dedupe → file comparison needs (stdin input, dedupe processor, cache, file output).
package main

import (
	"context"

	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"
)

func main() {
	service.RunCLI(context.Background())
}
