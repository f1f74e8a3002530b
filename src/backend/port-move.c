/* SPDX-License-Identifier: Apache-2.0 */
/* What every backend's port_move checks before it writes (backend.h). */
#include "backend.h"
#include "macro.h"

int backend_port_move_check(const struct kuryr_port *p, bool subport, const struct port_move *m,
			    char **reterr_msg)
{
	if (subport) {
		set_errmsg(reterr_msg, "port %s is a trunk's subport: it moves with its VM",
			   p->name);
		return -EINVAL;
	}
	if (!*p->host) {
		set_errmsg(reterr_msg, "port %s is bound to no node", p->name);
		return -EINVAL;
	}
	if (m->step == PORT_MOVE_CANCEL)
		return 0;
	if (!m->to || !*m->to) {
		set_errmsg(reterr_msg, "no node to move port %s to", p->name);
		return -EINVAL;
	}
	if (*p->migrating_to && !streq(p->migrating_to, m->to)) {
		set_errmsg(reterr_msg, "port %s is moving to %s", p->name, p->migrating_to);
		return -EBUSY;
	}
	if (streq(p->host, m->to) && !*p->migrating_to) {
		set_errmsg(reterr_msg, "port %s is on %s already", p->name, m->to);
		return -EALREADY;
	}
	return 0;
}
