package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTextClassifier trains the text classifier (Embedding, Bidirectional
// LSTM, one softmax label a sequence) through its generated binary on a
// table of token ids, one sequence a row and its label last: whether token
// 7 occurs in it. It also checks that an id outside the vocabulary is one
// error, before training.
func TestTextClassifier(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "text_bilstm")
	if b, err := exec.Command("go", "build", "-o", bin, "github.com/nngen/nngen/generated/text_bilstm/cmd/text_bilstm").CombinedOutput(); err != nil {
		t.Fatalf("go build text_bilstm: %v\n%s", err, b)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for range 2000 {
		ids, label := make([]string, 20), 0
		for j := range ids {
			id := 1 + r.IntN(49)
			if id == 7 && r.IntN(2) == 0 {
				id = 8 // about half the rows have no 7
			}
			if id == 7 {
				label = 1
			}
			ids[j] = fmt.Sprint(id)
		}
		fmt.Fprintf(&b, "%s,%d\n", strings.Join(ids, ","), label)
	}
	data := filepath.Join(dir, "ids.csv")
	if err := os.WriteFile(data, []byte(b.String()), 0o666); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "train", "--data", data, "--validation-split", "0.2", "--epochs", "8", "--quiet").CombinedOutput()
	if err != nil {
		t.Fatalf("text_bilstm train: %v\n%s", err, out)
	}
	kv := logfmt(t, string(out))
	if acc := number(t, kv, "val_accuracy"); acc < 0.95 {
		t.Errorf("val_accuracy=%v after 8 epochs, want at least 0.95:\n%s", acc, out)
	}
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte(badRows(b.String())), 0o666); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(bin, "train", "--data", bad, "--epochs", "1", "--quiet").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "sample 1, value 0: 50 is not a token id, an integer in [0, 50)") {
		t.Errorf("train on an id out of the vocabulary: err %v, output:\n%s", err, out)
	}
}

// badRows returns the table with the first id of its second row replaced by
// 50, one past the vocabulary.
func badRows(table string) string {
	rows := strings.SplitAfter(table, "\n")
	_, rest, _ := strings.Cut(rows[1], ",")
	rows[1] = "50," + rest
	return strings.Join(rows, "")
}
