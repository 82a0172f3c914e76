package model

import "entgo.io/contrib/entgql"

// AppointmentOrder is the staff appointment search's orderBy. It is a
// model of its own because ent's AppointmentOrder knows only the fields
// annotated on the ent schema (START_AT), not CREATED_AT.
type AppointmentOrder struct {
	// Field is what to sort by.
	Field AppointmentSortField `json:"field"`
	// Direction is ASC unless the client says otherwise.
	Direction entgql.OrderDirection `json:"direction"`
}
