package draw

import (
	"fmt"
	"slices"
)

// Member is an inspector drawn into a team, by certificate number only.
type Member struct {
	Department  string
	Certificate string
	Ticket      Hash
}

// Team is a joint team: InspectorsPerDepartment members of each department.
type Team struct {
	Number  int // 1, 2, …
	Members []Member
}

// Match assigns a target to a team.
type Match struct {
	CreditCode string
	Stratum    string
	Team       int
	Ticket     Hash // the target's ticket in the match/ stream
}

// Target is a confirmed target: an enterprise and its stratum.
type Target struct{ CreditCode, Stratum string }

// TeamDraw is the outcome of drawing inspectors and matching them to targets.
type TeamDraw struct {
	Teams   []Team
	Matches []Match // in the order they were assigned
}

// DrawTeams forms teams from the eligible roster and matches them to targets.
//
//   - Each department's eligible inspectors are ranked by
//     Ticket(seed, department code, certificate), ascending (ticket, certificate).
//   - The number of teams is G = ceil(targets ÷ targets_per_team), lowered to
//     what every department can staff with inspectors_per_department each;
//     each team takes at most ceil(targets ÷ G) targets.
//   - Teams fill in order from the lowest tickets: team 1 takes each
//     department's first inspectors_per_department, team 2 the next, and so on.
//   - Targets are taken in ascending (Ticket(seed, "match/"+stratum, credit
//     code), credit code). Each goes to the team with the fewest targets so
//     far, ties to the lowest team number, among teams with room and with no
//     member recused from that target. Recusal is a hard constraint: if no team
//     can take a target, the draw fails and says which.
func DrawTeams(seed Hash, roster []RosterEntry, departments []string, perDepartment, targetsPerTeam int, targets []Target, recusals []Recusal) (*TeamDraw, error) {
	if perDepartment < 1 || targetsPerTeam < 1 {
		return nil, fmt.Errorf("team sizes must be at least 1")
	}
	if len(targets) == 0 {
		return &TeamDraw{}, nil
	}
	ranked := map[string][]Member{}
	for _, r := range roster {
		ranked[r.Department] = append(ranked[r.Department], Member{
			Department: r.Department, Certificate: r.Certificate, Ticket: Ticket(seed, r.Department, r.Certificate),
		})
	}
	g := (len(targets) + targetsPerTeam - 1) / targetsPerTeam
	for _, d := range departments {
		members := ranked[d]
		slices.SortFunc(members, func(a, b Member) int {
			return Compare(Item{ID: a.Certificate, Ticket: a.Ticket}, Item{ID: b.Certificate, Ticket: b.Ticket})
		})
		g = min(g, len(members)/perDepartment)
	}
	if g == 0 {
		return nil, fmt.Errorf("not enough eligible inspectors to form one team of %d per department", perDepartment)
	}
	capacity := (len(targets) + g - 1) / g

	out := &TeamDraw{Teams: make([]Team, g)}
	recused := map[[2]string]bool{}
	for _, r := range recusals {
		recused[[2]string{r.Certificate, r.CreditCode}] = true
	}
	for t := range out.Teams {
		out.Teams[t].Number = t + 1
		for _, d := range departments {
			out.Teams[t].Members = append(out.Teams[t].Members, ranked[d][t*perDepartment:(t+1)*perDepartment]...)
		}
	}

	ordered := make([]Item, len(targets))
	for i, tg := range targets {
		ordered[i] = Item{ID: tg.CreditCode, Stratum: tg.Stratum, Ticket: Ticket(seed, MatchPrefix+tg.Stratum, tg.CreditCode)}
	}
	slices.SortFunc(ordered, Compare)
	load := make([]int, g)
	for _, it := range ordered {
		best := -1
		for t := range out.Teams {
			if load[t] >= capacity || (best >= 0 && load[t] >= load[best]) {
				continue
			}
			if teamRecused(out.Teams[t], it.ID, recused) {
				continue
			}
			best = t
		}
		if best < 0 {
			return nil, fmt.Errorf("target %s cannot be matched: every team with room has an inspector recused from it", it.ID)
		}
		load[best]++
		out.Matches = append(out.Matches, Match{CreditCode: it.ID, Stratum: it.Stratum, Team: best + 1, Ticket: it.Ticket})
	}
	return out, nil
}

func teamRecused(t Team, creditCode string, recused map[[2]string]bool) bool {
	for _, m := range t.Members {
		if recused[[2]string{m.Certificate, creditCode}] {
			return true
		}
	}
	return false
}
