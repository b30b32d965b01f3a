package worker

import (
	"fmt"
	"io"
	"math/big"
	"strings"

	"crypto/rand"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/honeytoken"
)

// Persona is the developer one analysis's sandbox pretends to be, drawn
// from pools of common names, company domains, laptops and projects, so
// that no user name, host name, git identity, project or shell history is
// the same in every analysis (a package that waits for a known sandbox
// user stays quiet). It is recorded in the analysis (analysis.Sandbox).
type Persona struct {
	User     string // login name
	FullName string
	Email    string
	Hostname string
	Company  string // the employer's domain; its forge is git.<Company>
	Project  string // the project the package is installed into, ~/projects/<Project>
	History  []string
	// RunID numbers the CI run of the ci phase (GITHUB_RUN_ID).
	RunID uint64
}

// Home is the persona's home directory.
func (p Persona) Home() string { return "/home/" + p.User }

// ProjectDir is the project's directory.
func (p Persona) ProjectDir() string { return p.Home() + "/projects/" + p.Project }

// GitHost is the company's git forge.
func (p Persona) GitHost() string { return "git." + p.Company }

// Profile is what honeytoken needs of the persona.
func (p Persona) Profile(npmRegistryHost string) honeytoken.Profile {
	return honeytoken.Profile{User: p.User, FullName: p.FullName, Email: p.Email, Home: p.Home(),
		Hostname: p.Hostname, NPMRegistryHost: npmRegistryHost, GitHost: p.GitHost()}
}

// Record is what the analysis records of the persona.
func (p Persona) Record(uid uint32) analysis.Persona {
	return analysis.Persona{User: p.User, UID: uid, FullName: p.FullName, Email: p.Email, Hostname: p.Hostname, Project: p.Project}
}

// The pools. Names are common given and family names of several
// languages; companies are invented domains; hosts follow the
// "<user>-<model>" name desktop installers suggest.
var (
	givenNames = []string{"alex", "maria", "james", "wei", "priya", "lucas", "sofia", "daniel", "aisha", "mateo",
		"emma", "noah", "olivia", "liam", "hana", "omar", "chloe", "ivan", "fatima", "tom", "sara", "kenji",
		"laura", "david", "nina", "marco", "julia", "ahmed", "elena", "ben", "yuki", "carlos", "anna", "raj",
		"lea", "samuel", "mei", "jonas", "ines", "victor"}
	familyNames = []string{"morgan", "chen", "garcia", "patel", "nguyen", "smith", "kowalski", "rossi", "muller",
		"silva", "kim", "tanaka", "johnson", "haddad", "novak", "dubois", "jensen", "fischer", "lopez", "singh",
		"brown", "ivanova", "costa", "yilmaz", "andersson", "okafor", "moreau", "wagner", "sato", "reyes"}
	companies = []string{"brightloop.io", "tessellate.dev", "harborview.tech", "quillstack.com", "northpeak.io",
		"lumenworks.dev", "copperleaf.io", "bluefjord.com", "pixelmint.co", "stratohq.com", "kestrel-labs.io",
		"oakridge-soft.com", "meridianpay.io", "fernhill.dev", "tidewater.tech", "cobaltcloud.io"}
	laptops = []string{"ThinkPad-T14-Gen-3", "ThinkPad-X1-Carbon-Gen-9", "XPS-13-9310", "XPS-15-9520",
		"Latitude-7420", "HP-EliteBook-840-G8", "Precision-5560", "laptop", "desktop", "workstation",
		"Z13", "Framework-Laptop-13"}
	projects = []string{"api-gateway", "checkout-web", "billing-service", "admin-dashboard", "mobile-bff",
		"auth-service", "landing-page", "design-system", "internal-tools", "search-api", "notifications",
		"web-app", "frontend", "platform-api", "data-sync", "customer-portal"}
	// historyLines are what a developer typed; {p} is the project, {g}
	// the git forge.
	historyLines = []string{"cd ~/projects/{p}", "git status", "git pull --rebase", "git checkout -b fix/login-redirect",
		"npm run dev", "npm test", "npm run lint", "code .", "git log --oneline | head", "docker compose up -d",
		"docker ps", "ssh git@{g}", "git push -u origin HEAD", "npm outdated", "ls -la", "cat package.json",
		"kubectl get pods -n staging", "git diff", "npm ci", "node -v", "htop", "git stash pop", "make test",
		"curl -s localhost:3000/health", "vim .env.local", "git fetch --all", "npx prettier --write src"}
)

// drawPersona draws a persona with randomness from r (crypto/rand.Reader
// in production).
func drawPersona(r io.Reader) (Persona, error) {
	pick := func(pool []string) (string, error) {
		n, err := rand.Int(r, big.NewInt(int64(len(pool))))
		if err != nil {
			return "", fmt.Errorf("draw persona: %w", err)
		}
		return pool[n.Int64()], nil
	}
	var v [5]string
	for i, pool := range [][]string{givenNames, familyNames, companies, laptops, projects} {
		s, err := pick(pool)
		if err != nil {
			return Persona{}, err
		}
		v[i] = s
	}
	given, family, company, laptop, project := v[0], v[1], v[2], v[3], v[4]
	p := Persona{
		FullName: title(given) + " " + title(family),
		Email:    given + "." + family + "@" + company,
		Company:  company,
		Project:  project,
	}
	// Login names: "maria", "mchen" or "maria.chen", as companies do.
	style, err := pick([]string{"given", "initial", "dotted"})
	if err != nil {
		return Persona{}, err
	}
	switch style {
	case "given":
		p.User = given
	case "initial":
		p.User = given[:1] + family
	default:
		p.User = given + "." + family
	}
	p.Hostname = strings.ReplaceAll(p.User, ".", "") + "-" + laptop
	run, err := rand.Int(r, big.NewInt(9e9))
	if err != nil {
		return Persona{}, fmt.Errorf("draw persona: %w", err)
	}
	p.RunID = 1e10 + run.Uint64()
	for range 24 {
		line, err := pick(historyLines)
		if err != nil {
			return Persona{}, err
		}
		p.History = append(p.History, strings.NewReplacer("{p}", p.Project, "{g}", p.GitHost()).Replace(line))
	}
	return p, nil
}

func title(s string) string { return strings.ToUpper(s[:1]) + s[1:] }
