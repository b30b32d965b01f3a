// Package honeytoken makes the fake secrets planted in every sandbox: files
// in the home directory and environment variables whose values are fresh for
// each analysis and shaped like the real thing, so that a stealer takes them
// and their reappearance anywhere proves theft.
//
// Real malware bails out on sandbox markers, so nothing here uses
// documentation example keys, and no file or variable is named after
// decoys or analysis.
package honeytoken

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"path"
)

// Token is one planted secret value. A value in several files has a Token
// for each file, so that every file holding a secret is known.
type Token struct {
	Name  string `json:"name"`  // what it imitates, e.g. "npm-token"
	Where string `json:"where"` // file path (in the sandbox) or "env:NAME"
	Value string `json:"value"`
	// Issuer is the host whose service the value belongs to, where it is
	// the sandbox's own configuration (the npm registry, for NPM_TOKEN);
	// "" otherwise.
	Issuer string `json:"issuer,omitempty"`
}

// File is one planted file, with a path relative to the home directory.
type File struct {
	Path string
	Mode uint32
	Data []byte
}

// Set is everything planted for one analysis.
type Set struct {
	Files  []File
	Env    []string // NAME=value
	Tokens []Token
}

// Profile describes the sandbox's developer.
type Profile struct {
	User     string // account name
	FullName string // as git and mail know it
	Email    string
	Home     string // home directory in the sandbox
	Hostname string
	// NPMRegistryHost is the host of the npm registry the sandbox is
	// configured with, for the auth line of ~/.npmrc.
	NPMRegistryHost string
	// GitHost names the developer's git forge in credential files.
	GitHost string
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// gen draws random strings from r.
type gen struct {
	r   io.Reader
	err error
}

func (g *gen) str(alphabet string, n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		if g.err != nil {
			return ""
		}
		k, err := rand.Int(g.r, max)
		if err != nil {
			g.err = err
			return ""
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}

// Generate makes a fresh Set for p, drawing randomness from r (crypto/rand's
// Reader in production).
func Generate(r io.Reader, p Profile) (*Set, error) {
	g := &gen{r: r}
	s := &Set{}
	add := func(name, where, value string) string {
		s.Tokens = append(s.Tokens, Token{Name: name, Where: where, Value: value})
		return value
	}
	file := func(rel string, mode uint32, data string) {
		s.Files = append(s.Files, File{Path: rel, Mode: mode, Data: []byte(data)})
	}
	at := func(rel string) string { return path.Join(p.Home, rel) }

	npmToken := add("npm-token", at(".npmrc"), "npm_"+g.str(alnum, 36))
	// What npm login writes (npm 9 and later: no email line, which npm 11
	// warns about as an unknown setting on every run).
	file(".npmrc", 0o600, fmt.Sprintf("//%s/:_authToken=%s\n", p.NPMRegistryHost, npmToken))

	pypiToken := add("pypi-token", at(".pypirc"), "pypi-AgEIcHlwaS5vcmc"+g.str(alnum+"-_", 120))
	file(".pypirc", 0o600, "[distutils]\nindex-servers =\n    pypi\n\n[pypi]\nusername = __token__\npassword = "+pypiToken+"\n")

	awsID := add("aws-access-key-id", at(".aws/credentials"), "AKIA"+g.str("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16))
	awsSecret := add("aws-secret-access-key", at(".aws/credentials"), g.str(alnum+"+/", 40))
	file(".aws/credentials", 0o600, fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", awsID, awsSecret))
	file(".aws/config", 0o644, "[default]\nregion = eu-west-1\noutput = json\n")

	ghToken := add("github-token", "env:GITHUB_TOKEN", "ghp_"+g.str(alnum, 36))
	gitToken := add("git-credential", at(".git-credentials"), "ghp_"+g.str(alnum, 36))
	file(".git-credentials", 0o600, fmt.Sprintf("https://%s:%s@%s\n", p.User, gitToken, p.GitHost))
	add("git-config-credential", at(".gitconfig"), gitToken) // the same token, in a url rewrite
	file(".gitconfig", 0o644, fmt.Sprintf("[user]\n\tname = %s\n\temail = %s\n[credential]\n\thelper = store\n[url \"https://%s:%s@%s/\"]\n\tinsteadOf = https://%s/\n",
		p.FullName, p.Email, p.User, gitToken, p.GitHost, p.GitHost))

	dockerAuth := add("docker-auth", at(".docker/config.json"), base64.StdEncoding.EncodeToString([]byte(p.User+":"+g.str(alnum, 32))))
	file(".docker/config.json", 0o600, fmt.Sprintf("{\n\t\"auths\": {\n\t\t\"registry.%s\": {\n\t\t\t\"auth\": %q\n\t\t}\n\t}\n}\n", p.GitHost, dockerAuth))

	kubeToken := add("kube-token", at(".kube/config"), "eyJhbGciOiJSUzI1NiIsImtpZCI6I"+g.str(alnum, 80))
	file(".kube/config", 0o600, fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://k8s.%s:6443\n  name: prod\ncontexts:\n- context:\n    cluster: prod\n    user: %s\n  name: prod\ncurrent-context: prod\nusers:\n- name: %s\n  user:\n    token: %s\n",
		p.GitHost, p.User, p.User, kubeToken))

	discord := add("discord-token", at(".config/discord/Local Storage/leveldb/000005.ldb"),
		g.str(alnum, 24)+"."+g.str(alnum+"-_", 6)+"."+g.str(alnum+"-_", 38))
	file(".config/discord/Local Storage/leveldb/000005.ldb", 0o600, "\x00\x01_https://discord.com\x00\x01token\x01\""+discord+"\"\x00")
	chrome := add("browser-password", at(".config/google-chrome/Default/Login Data"), g.str(alnum, 20))
	file(".config/google-chrome/Default/Login Data", 0o600, "SQLite format 3\x00"+"https://login."+p.GitHost+"/\x00"+p.User+"\x00"+chrome+"\x00")

	key, err := rsa.GenerateKey(r, 2048)
	if err != nil {
		return nil, fmt.Errorf("ssh key: %w", err)
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	add("ssh-private-key", at(".ssh/id_rsa"), keyPEM)
	file(".ssh/id_rsa", 0o600, keyPEM)
	file(".ssh/known_hosts", 0o644, fmt.Sprintf("%s ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI%s\n", p.GitHost, g.str(alnum, 43)))
	file(".ssh/config", 0o644, fmt.Sprintf("Host %s\n  User git\n  IdentityFile ~/.ssh/id_rsa\n", p.GitHost))

	npmEnv := add("npm-token", "env:NPM_TOKEN", "npm_"+g.str(alnum, 36))
	s.Tokens[len(s.Tokens)-1].Issuer = p.NPMRegistryHost
	slack := add("slack-webhook", "env:SLACK_WEBHOOK_URL", "https://hooks."+p.GitHost+"/services/T"+g.str("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 8)+"/B"+g.str("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 8)+"/"+g.str(alnum, 24))
	dbPass := add("database-password", "env:DATABASE_URL", g.str(alnum, 20))
	envAWSID := add("aws-access-key-id", "env:AWS_ACCESS_KEY_ID", "AKIA"+g.str("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16))
	envAWSSecret := add("aws-secret-access-key", "env:AWS_SECRET_ACCESS_KEY", g.str(alnum+"+/", 40))
	s.Env = []string{
		"NPM_TOKEN=" + npmEnv,
		"GITHUB_TOKEN=" + ghToken,
		"AWS_ACCESS_KEY_ID=" + envAWSID,
		"AWS_SECRET_ACCESS_KEY=" + envAWSSecret,
		"AWS_DEFAULT_REGION=eu-west-1",
		"SLACK_WEBHOOK_URL=" + slack,
		"DATABASE_URL=postgres://app:" + dbPass + "@db." + p.GitHost + ":5432/app",
	}
	if g.err != nil {
		return nil, fmt.Errorf("random: %w", g.err)
	}
	return s, nil
}
