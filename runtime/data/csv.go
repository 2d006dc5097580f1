package data

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// ReadCSV reads a numeric CSV file, one sample a line. When labelColumn >= 0
// that column holds integer class labels (Classes is the largest label plus
// one) and the other columns are the inputs; when labelColumn < 0 every
// column is an input and the set has no targets. hasHeader skips the first
// line. Errors name the file and line.
func ReadCSV(path string, labelColumn int, hasHeader bool) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	r.TrimLeadingSpace = true
	s := &Set{}
	if labelColumn >= 0 {
		s.Labels = []int32{}
	}
	for first := true; ; first = false {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if pe := (*csv.ParseError)(nil); errors.As(err, &pe) {
			return nil, fmt.Errorf("data: %s:%d: %v", path, pe.Line, pe.Err)
		} else if err != nil {
			return nil, fmt.Errorf("data: %s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		if first {
			if labelColumn >= len(rec) {
				return nil, fmt.Errorf("data: %s:%d: label column %d, but the line has only %d columns", path, line, labelColumn, len(rec))
			}
			if s.Shape = []int{len(rec)}; labelColumn >= 0 {
				s.Shape[0]--
			}
			if hasHeader {
				continue
			}
		}
		for i, field := range rec {
			field = strings.TrimSpace(field)
			if i == labelColumn {
				l, err := strconv.ParseInt(field, 10, 32)
				if err != nil || l < 0 {
					return nil, fmt.Errorf("data: %s:%d: column %d: label %q is not a non-negative integer", path, line, i+1, field)
				}
				s.Labels = append(s.Labels, int32(l))
				s.Classes = max(s.Classes, int(l)+1)
				continue
			}
			v, err := strconv.ParseFloat(field, 32)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("data: %s:%d: column %d: %q is not a finite number", path, line, i+1, field)
			}
			s.X = append(s.X, float32(v))
		}
		s.N++
	}
	if s.N == 0 {
		return nil, fmt.Errorf("data: %s: no samples", path)
	}
	return s, nil
}
