package ehrsync

import (
	"frontdesk/ent/practitioner"
	"frontdesk/ent/predicate"
	"frontdesk/ent/service"
	"frontdesk/gid"
)

func serviceID(id gid.ID) predicate.Service           { return service.ID(id) }
func practitionerID(id gid.ID) predicate.Practitioner { return practitioner.ID(id) }
