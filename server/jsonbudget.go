package server

// jsonValues is an upper bound of the number of values in a JSON text:
// every value but the first of a container follows a comma, and every
// container opens with a bracket. Characters inside strings do not count.
// It stops counting past limit. postTransport refuses a JSON body, and
// withMultipartBudget the text parts of an upload, that hold more values
// than the variables limit allows, before anything decodes them.
func jsonValues(b []byte, limit int) int {
	n := 1
	inString, escaped := false, false
	for _, c := range b {
		switch {
		case escaped:
			escaped = false
		case inString:
			switch c {
			case '\\':
				escaped = true
			case '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == ',' || c == '[' || c == '{':
			n++
			if n > limit {
				return n
			}
		}
	}
	return n
}
