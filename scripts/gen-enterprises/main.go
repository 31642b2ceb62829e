// Command gen-enterprises writes an enterprise directory CSV for import
// benchmarks: valid credit codes, with every Nth row bad in one of the ways
// real files are (wrong check character, no name, unknown status, bad risk
// class, bad coordinates).
//
//	go run ./scripts/gen-enterprises -rows 100000 -bad-every 100 > enterprises.csv
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"github.com/spotcheck/spotcheck/server/importer/importtest"
)

func main() {
	rows := flag.Int("rows", 100000, "data rows to write")
	badEvery := flag.Int("bad-every", 100, "make every Nth row bad (0: none)")
	flag.Parse()
	w := bufio.NewWriter(os.Stdout)
	st, err := importtest.WriteEnterprisesCSV(w, *rows, *badEvery)
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen-enterprises:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "gen-enterprises: %d rows, %d good, %d bad\n", st.Rows, st.Good, st.Bad)
}
