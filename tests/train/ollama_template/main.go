// Renders an Ollama TEMPLATE (Go text/template, as Ollama executes it) for conversations read
// as JSON from stdin: {"template": "...", "conversations": [[{"role": ..., "content": ...}]]}.
// Prints a JSON list of the rendered prompts. Used by tests/train/test_gguf_export.py.
package main

import (
	"encoding/json"
	"os"
	"strings"
	"text/template"
)

type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type Input struct {
	Template      string      `json:"template"`
	Conversations [][]Message `json:"conversations"`
}

func main() {
	var in Input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		panic(err)
	}
	tmpl := template.Must(template.New("").Parse(in.Template))
	out := []string{}
	for _, messages := range in.Conversations {
		var b strings.Builder
		if err := tmpl.Execute(&b, map[string]any{"Messages": messages}); err != nil {
			panic(err)
		}
		out = append(out, b.String())
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		panic(err)
	}
}
