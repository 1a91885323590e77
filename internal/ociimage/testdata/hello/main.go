// Command hello is a small binary with one module dependency, for the
// image tests: its build information lists that module.
package main

import (
	"fmt"

	"github.com/spdx/tools-golang/spdx/v2/common"
)

func main() {
	fmt.Println("hello", common.SHA256)
}
