package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/importer"
	"github.com/spotcheck/spotcheck/server/store"
)

func init() {
	register("import", "import enterprises or inspectors from a CSV or XLSX file", cmdImport)
}

// importErrorsShown is how many rejected rows are printed on stderr; the
// --errors file gets all of them.
const importErrorsShown = 20

func cmdImport(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: spotcheck import enterprises|inspectors FILE [flags]")
		fs.PrintDefaults()
	}
	var g globalFlags
	g.register(fs, env)
	format := fs.String("format", "", "csv or xlsx; default from the file extension")
	encoding := fs.String("encoding", "", "a CSV file's encoding: utf-8 or gb18030 (also gbk); default: UTF-8, or GB18030 when the whole file is GB18030 and not UTF-8")
	errorsPath := fs.String("errors", "", "write every rejected row to this CSV file")
	progress := fs.Bool("progress", isTerminal(env.Stderr), "show a progress bar on stderr (default: when stderr is a terminal)")
	// Flags may come before, between or after the two positional arguments.
	var pos []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(pos) != 2 || (pos[0] != "enterprises" && pos[0] != "inspectors") {
		fs.Usage()
		return usagef("want: import enterprises|inspectors FILE")
	}
	kind, path := pos[0], pos[1]
	ff := server.ImportFormat(strings.ToLower(*format))
	if ff == "" {
		ff = server.ImportFormat(strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), "."))
	}
	if ff != server.ImportCSV && ff != server.ImportXLSX {
		return usagef("cannot tell the format of %q: name a .csv or .xlsx file, or pass --format csv|xlsx", path)
	}

	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}

	var errw *csv.Writer
	if *errorsPath != "" {
		ef, err := os.Create(*errorsPath)
		if err != nil {
			return err
		}
		defer ef.Close()
		ef.WriteString("\xEF\xBB\xBF") // so Excel opens the Chinese messages as UTF-8
		errw = csv.NewWriter(ef)
		errw.Write([]string{"row", "column", "code", "message"})
	}

	a, err := g.openApp(ctx, env)
	if err != nil {
		return err
	}
	defer a.Close()

	// The command builds its own importer so that every rejected row reaches
	// the errors file, not only the first MaxImportErrors the report keeps.
	svc := importer.New(store.NewImportStore(a.DB))
	svc.TempDir = filepath.Join(a.Config.DataDir, "tmp")
	if errw != nil {
		svc.OnRowError = func(e server.ImportRowError) {
			errw.Write([]string{strconv.Itoa(e.Row), e.Column, e.Code, e.Message})
		}
	}
	opt := server.ImportOptions{Format: ff, Encoding: *encoding}
	var bar *progressbar.ProgressBar
	if *progress {
		bar = progressbar.NewOptions64(fi.Size(),
			progressbar.OptionSetWriter(env.Stderr),
			progressbar.OptionSetDescription("导入 (importing) "+filepath.Base(path)),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(env.Stderr) }),
		)
		opt.Progress = func(n int64) { bar.Set64(n) }
	}

	start := time.Now()
	sctx := app.SystemContext(ctx)
	var rep *server.ImportReport
	if kind == "enterprises" {
		rep, err = svc.ImportEnterprises(sctx, f, opt)
	} else {
		rep, err = svc.ImportInspectors(sctx, f, opt)
	}
	if bar != nil {
		bar.Finish()
	}
	if errw != nil {
		errw.Flush()
		if ferr := errw.Error(); ferr != nil && err == nil {
			err = fmt.Errorf("write %s: %w", *errorsPath, ferr)
		}
	}
	if err != nil {
		if code := server.ErrorCode(err); code != server.EINTERNAL {
			return fmt.Errorf("%s (%s)", server.ErrorMessage(err), code)
		}
		return err
	}

	fmt.Fprintf(env.Stdout, "%s: %d rows in %s: %d inserted, %d updated, %d unchanged, %d rejected\n",
		path, rep.Rows, time.Since(start).Round(time.Millisecond), rep.Inserted, rep.Updated, rep.Unchanged, rep.Rejected)
	fmt.Fprintf(env.Stdout, "共%d行：新增%d，更新%d，未变%d，拒绝%d\n", rep.Rows, rep.Inserted, rep.Updated, rep.Unchanged, rep.Rejected)
	if rep.Rejected > 0 {
		fmt.Fprintf(env.Stderr, "rejected rows (被拒绝的行):\n")
		for i, e := range rep.Errors {
			if i == importErrorsShown {
				break
			}
			col := e.Column
			if col == "" {
				col = "-"
			}
			fmt.Fprintf(env.Stderr, "  row %d\t%s\t%s\t%s\n", e.Row, col, e.Code, e.Message)
		}
		if rep.Rejected > importErrorsShown {
			more := fmt.Sprintf("  … and %d more", rep.Rejected-importErrorsShown)
			if *errorsPath != "" {
				more += "; all rejected rows are in " + *errorsPath
			} else {
				more += "; pass --errors FILE.csv to save them all"
			}
			fmt.Fprintln(env.Stderr, more)
		} else if *errorsPath != "" {
			fmt.Fprintf(env.Stderr, "  rejected rows written to %s\n", *errorsPath)
		}
	}
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
