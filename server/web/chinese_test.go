package web_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// asciiWord is a run of Latin letters: a word of English in the UI.
var asciiWord = regexp.MustCompile(`[A-Za-z][A-Za-z0-9_.-]*`)

// allowedWords are the Latin-letter words a page may show as text.
var allowedWords = map[string]bool{"SHA-256": true}

// englishWords returns the English words a page's text shows outside
// code, preformatted text, scripts and data marked translate="no"
// (usernames): the page title, the text nodes, and the labels users read
// (placeholders, button values, titles of images).
func englishWords(page string) []string {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return []string{"(unparsable HTML: " + err.Error() + ")"}
	}
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "code", "pre", "script", "style":
				return
			}
			for _, a := range n.Attr {
				switch {
				case a.Key == "translate" && a.Val == "no":
					return
				case a.Key == "placeholder" || a.Key == "alt" || a.Key == "aria-label" || a.Key == "title" && n.Data != "code":
					b.WriteString(" " + a.Val + " ")
				}
			}
		}
		if n.Type == html.TextNode {
			b.WriteString(" " + n.Data + " ")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return englishIn(b.String())
}

func englishIn(text string) []string {
	var out []string
	for _, w := range asciiWord.FindAllString(text, -1) {
		if !allowedWords[w] {
			out = append(out, w)
		}
	}
	return out
}

func TestEnglishWords(t *testing.T) {
	page := `<html><head><title>登录 Login</title></head><body><h1>登录</h1><p>请 sign in</p>
		<code>sc-sha256-v1</code><pre>spotcheck verify draw</pre><span translate="no">coord-a</span>
		<input placeholder="Username"><p>清单摘要（SHA-256）</p><script src="/assets/app.js"></script></body></html>`
	got := englishWords(page)
	want := []string{"Login", "sign", "in", "Username"}
	if !slices.Equal(got, want) {
		t.Fatalf("englishWords = %q, want %q", got, want)
	}
}
