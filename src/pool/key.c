/* SPDX-License-Identifier: Apache-2.0 */
/* Pool keys: a network's name for its default pool, or the network with
 * the project, the sorted security groups and the QoS policy its ports
 * were made with; kept with each pool port in the backend, so a restarted
 * kuryrd gives the port back to its pool. */
#include <stdio.h>

#include "macro.h"
#include "pool-private.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int pool_key(char out[POOL_KEY_MAX], const char *network, const char *project,
	     const char *const *sgs, const char *qos)
{
	const char *sorted[17];
	char groups[POOL_KEY_MAX] = "-"; /* "-": the node's default groups */
	size_t n = 0, len = 0;
	int w;

	project = project ? project : "";
	qos = qos ? qos : "";
	if (strchr(network, '|') || strpbrk(project, "|,") || strpbrk(qos, "|,"))
		return -EINVAL;
	if (!sgs && !*project && !*qos) {
		w = snprintf(out, POOL_KEY_MAX, "%s", network);
		return w >= POOL_KEY_MAX ? -E2BIG : 0;
	}
	for (; sgs && sgs[n]; n++) {
		if (n >= ELEMENTSOF(sorted) || strpbrk(sgs[n], "|,") || streq(sgs[n], "-"))
			return -EINVAL;
		sorted[n] = sgs[n];
	}
	if (sgs) {
		qsort(sorted, n, sizeof(*sorted), cmp_str);
		groups[0] = 0;
		for (size_t i = 0; i < n; i++) {
			if (i && streq(sorted[i], sorted[i - 1]))
				continue; /* a group named twice is one group */
			w = snprintf(groups + len, sizeof(groups) - len, "%s%s", len ? "," : "",
				     sorted[i]);
			if (w < 0 || (size_t)w >= sizeof(groups) - len)
				return -E2BIG;
			len += (size_t)w;
		}
	}
	w = snprintf(out, POOL_KEY_MAX, "%s|%s|%s|%s", network, project, groups, qos);
	return w >= POOL_KEY_MAX ? -E2BIG : 0;
}

void key_split(const char *key, struct key_parts *k)
{
	char *f[4] = { 0 }, *save = NULL, *tok;
	int n = 0;

	*k = (struct key_parts){ 0 };
	snprintf(k->buf, sizeof(k->buf), "%s", key);
	for (char *p = k->buf; n < 4; n++) {
		f[n] = p;
		p = strchr(p, '|');
		if (!p)
			break;
		*p++ = 0;
	}
	k->network = f[0];
	k->project = f[1] ? f[1] : "";
	k->qos = f[3] ? f[3] : "";
	if (f[2] && !streq(f[2], "-")) {
		size_t i = 0;

		k->has_sgs = true;
		for (tok = strtok_r(f[2], ",", &save); tok && i + 1 < ELEMENTSOF(k->sgs);
		     tok = strtok_r(NULL, ",", &save))
			k->sgs[i++] = tok;
	}
}

bool key_of_network(const char *key, const char *network)
{
	size_t l = strlen(network);

	return strncmp(key, network, l) == 0 && (key[l] == 0 || key[l] == '|');
}
