package calendar_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server/calendar"
)

func day(s string) time.Time {
	t, err := time.ParseInLocation(time.DateOnly, s, calendar.Shanghai())
	if err != nil {
		panic(err)
	}
	return t
}

func TestChina_IsWorkingDay(t *testing.T) {
	c := calendar.China()
	for _, tt := range []struct {
		date string
		want bool
	}{
		{"2025-10-08", false}, // National Day and Mid-Autumn, a Wednesday
		{"2025-09-28", true},  // Sunday, make-up working day
		{"2025-10-11", true},  // Saturday, make-up working day
		{"2025-10-12", false}, // plain Sunday
		{"2025-10-09", true},  // plain Thursday
		{"2026-02-14", true},  // Saturday before the Spring Festival, make-up
		{"2026-02-16", false}, // Spring Festival, a Monday
		{"2024-02-18", true},  // Sunday, make-up
	} {
		got, err := c.IsWorkingDay(day(tt.date))
		if err != nil || got != tt.want {
			t.Errorf("%s: %v, %v; want %v", tt.date, got, err, tt.want)
		}
	}
}

func TestChina_AddWorkingDays(t *testing.T) {
	c := calendar.China()
	for _, tt := range []struct {
		from string
		n    int
		want string
	}{
		{"2025-09-26", 1, "2025-09-28"}, // Friday → the make-up Sunday
		{"2025-09-30", 1, "2025-10-09"}, // over the eight-day holiday
		{"2025-10-09", 3, "2025-10-13"}, // Thu → Fri, Sat (make-up), Mon
		{"2026-11-25", 20, "2026-12-23"},
		{"2026-11-25", 0, "2026-11-25"},
	} {
		got, err := c.AddWorkingDays(day(tt.from).Add(15*time.Hour), tt.n)
		if err != nil {
			t.Fatal(err)
		}
		if got.Format(time.DateOnly) != tt.want || got.Hour() != 23 {
			t.Errorf("%s + %d working days = %s, want end of %s", tt.from, tt.n, got, tt.want)
		}
	}
}

func TestCalendar_ErrYearNotCovered(t *testing.T) {
	_, err := calendar.China().AddWorkingDays(day("2026-12-20"), 20)
	var e *calendar.ErrYearNotCovered
	if !errors.As(err, &e) || e.Year != 2027 {
		t.Fatalf("err %v, want the uncovered year 2027", err)
	}
}

func TestParse_Errors(t *testing.T) {
	for _, bad := range []string{
		"2025-01-01 holiday 元旦",           // no year line
		"year 2025\n2025-01-06 workday x", // a Monday is already a working day
		"year 2025\n2024-12-31 holiday x", // outside the declared year
		"year 2025\n2025-13-01 holiday x", // bad date
		"year 2025\n2025-01-05..2025-01-01 holiday x",
		"year 2025\n2025-01-04 vacation x",
	} {
		if _, err := calendar.Parse(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// A file of the operator's adds a year and replaces one the shipped data has.
func TestCalendar_With(t *testing.T) {
	extra, err := calendar.Parse(strings.NewReader(`
year 2026
2026-03-02 holiday 测试假日
year 2027
2027-01-01 holiday 元旦
2027-01-09 workday 调休
`))
	if err != nil {
		t.Fatal(err)
	}
	c := calendar.China().With(extra)
	if got := c.Years(); !slices.Equal(got, []int{2024, 2025, 2026, 2027}) {
		t.Fatalf("years %v", got)
	}
	for _, tt := range []struct {
		day  string
		want bool
	}{
		{"2027-01-01", false}, // the file's holiday
		{"2027-01-04", true},  // an ordinary Monday
		{"2027-01-09", true},  // the file's make-up Saturday
		{"2026-03-02", false}, // the file's 2026 holiday
		{"2026-02-16", true},  // shipped 春节 2026 is gone: the file's 2026 replaced it whole
		{"2025-10-01", false}, // other shipped years stay
	} {
		got, err := c.IsWorkingDay(day(tt.day))
		if err != nil || got != tt.want {
			t.Errorf("%s: working day %v, %v; want %v", tt.day, got, err, tt.want)
		}
	}
	if _, err := calendar.China().IsWorkingDay(day("2027-01-04")); err == nil {
		t.Fatal("With changed the calendar it was called on")
	}
}
