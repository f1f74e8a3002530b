/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for binding driver nested-vlan's VLAN ids, at our own seam: a
 * trunk in memory behind struct backend_ops (by the parent's MAC, get,
 * subports added one or a batch at once, all or none) with an
 * "operator" who takes ids behind the driver's back. Parking a batch puts
 * it on the trunk in one call under distinct free ids; a clash costs one
 * read of the trunk and one more add, never an id twice; clashes without
 * end stop after a bounded number of tries; a restart asks the trunk
 * once for all the pool's ports. The VM's NIC is "lo" (its MAC names the
 * trunk's parent): netlink is read, nothing is created. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "binding/binding.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"

#define TRUNK_ID "trunk-1"
#define MAX_SUBS 64

struct fake_trunk {
	struct backend base;
	struct {
		char port[64];
		unsigned vlan;
	} subs[MAX_SUBS];
	size_t n_subs;
	/* Ids an operator adds (as port "op-ID") right after the next add
	 * reads the trunk, before it writes: that add then clashes. */
	unsigned steal[8];
	size_t n_steal;
	bool clash_always; /* every add clashes (-EEXIST) */
	int fail_add;	   /* the next add fails with this (not -EEXIST) */
	unsigned adds, add_ports, reads;
};

static struct fake_trunk *to_ft(struct backend *b)
{
	return (struct fake_trunk *)b;
}

static json_t *trunk_json(struct fake_trunk *ft)
{
	json_t *subs = json_array();

	for (size_t i = 0; i < ft->n_subs; i++)
		json_array_append_new(subs, json_pack("{s:s, s:I}", "port", ft->subs[i].port,
						      "vlan", (json_int_t)ft->subs[i].vlan));
	return json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", TRUNK_ID, "name", "vmtrunk", "port",
			 "vm1", "status", "ACTIVE", "subports", subs);
}

static bool vlan_taken(struct fake_trunk *ft, unsigned vlan)
{
	for (size_t i = 0; i < ft->n_subs; i++)
		if (ft->subs[i].vlan == vlan)
			return true;
	return false;
}

static void sub_push(struct fake_trunk *ft, const char *port, unsigned vlan)
{
	assert_true(ft->n_subs < MAX_SUBS);
	snprintf(ft->subs[ft->n_subs].port, sizeof(ft->subs[0].port), "%s", port);
	ft->subs[ft->n_subs++].vlan = vlan;
}

static int ft_by_parent_mac(struct backend *b, const char *mac, json_t **ret, char **reterr_msg)
{
	to_ft(b)->reads++;
	*ret = trunk_json(to_ft(b));
	return 0;
}

static int ft_get(struct backend *b, const char *trunk, json_t **ret, char **reterr_msg)
{
	assert_string_equal(trunk, TRUNK_ID);
	to_ft(b)->reads++;
	*ret = trunk_json(to_ft(b));
	return 0;
}

static int ft_subports_add(struct backend *b, const char *trunk, const char *const *ports,
			   const unsigned *vlans, size_t n, char **reterr_msg)
{
	struct fake_trunk *ft = to_ft(b);

	assert_string_equal(trunk, TRUNK_ID);
	ft->adds++;
	ft->add_ports += (unsigned)n;
	for (size_t i = 0; i < ft->n_steal; i++) {
		char op[16];

		snprintf(op, sizeof(op), "op-%u", ft->steal[i]);
		sub_push(ft, op, ft->steal[i]);
	}
	ft->n_steal = 0;
	if (ft->fail_add) {
		int r = ft->fail_add;

		ft->fail_add = 0;
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		/* The driver never asks for an id twice in one batch. */
		for (size_t j = 0; j < i; j++)
			assert_int_not_equal(vlans[i], vlans[j]);
		if (ft->clash_always || vlan_taken(ft, vlans[i])) {
			set_errmsg(reterr_msg, "VLAN %u is already used", vlans[i]);
			return -EEXIST;
		}
	}
	for (size_t i = 0; i < n; i++)
		sub_push(ft, ports[i], vlans[i]);
	return 0;
}

static int ft_subport(struct backend *b, const char *trunk, bool add, const char *port,
		      unsigned vlan, char **reterr_msg)
{
	struct fake_trunk *ft = to_ft(b);

	if (add)
		return ft_subports_add(b, trunk, &port, &vlan, 1, reterr_msg);
	for (size_t i = 0; i < ft->n_subs; i++)
		if (streq(ft->subs[i].port, port)) {
			ft->subs[i] = ft->subs[--ft->n_subs];
			return 0;
		}
	return -ENOENT;
}

static const struct backend_ops ft_ops = {
	.name = "fake-trunk",
	.caps = BACKEND_CAP_TRUNKS,
	.trunk_get = ft_get,
	.trunk_subport = ft_subport,
	.trunk_subports_add = ft_subports_add,
	.trunk_by_parent_mac = ft_by_parent_mac,
};

struct fixture {
	struct fake_trunk ft;
	struct binding *nv;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const struct binding_ops *ops = binding_driver_find("nested-vlan");

	assert_non_null(f);
	assert_non_null(ops);
	f->ft.base.ops = &ft_ops;
	assert_int_equal(binding_new(ops,
				     &(struct binding_env){ .backend = &f->ft.base,
							    .link_iface = "lo",
							    .port_up_timeout_ms = 1000 },
				     &f->nv, NULL),
			 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	binding_free(f->nv);
	free(f);
	return 0;
}

/* Ports "p0".."pN-1". */
static void ports_make(struct kuryr_port *ps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ps[i] = (struct kuryr_port){ .owner = PORT_OWNER_POOL };
		snprintf(ps[i].name, sizeof(ps[i].name), "p%zu", i);
	}
}

static unsigned parked_vlan(const struct binding_state *st)
{
	assert_int_equal(strncmp(st->data, "p:", 2), 0);
	return (unsigned)strtoul(st->data + 2, NULL, 10);
}

/* Every subport of the trunk has an id of its own. */
static void assert_distinct(struct fake_trunk *ft)
{
	for (size_t i = 0; i < ft->n_subs; i++)
		for (size_t j = 0; j < i; j++)
			assert_int_not_equal(ft->subs[i].vlan, ft->subs[j].vlan);
}

/* A batch on a trunk with an operator's subport: one add, the lowest
 * free ids, around the operator's. */
static void test_batch_one_call(void **state)
{
	struct fixture *f = *state;
	struct kuryr_port ps[4];
	struct binding_state st[4];

	sub_push(&f->ft, "op-2", 2);
	ports_make(ps, 4);
	assert_true(binding_parks_many(f->nv));
	assert_int_equal(binding_park_many(f->nv, ps, 4, NULL, st, NULL), 0);
	assert_int_equal(f->ft.adds, 1);
	assert_int_equal(f->ft.add_ports, 4);
	assert_int_equal(f->ft.reads, 1); /* finding the trunk */
	assert_int_equal(parked_vlan(&st[0]), 1);
	assert_int_equal(parked_vlan(&st[1]), 3);
	assert_int_equal(parked_vlan(&st[2]), 4);
	assert_int_equal(parked_vlan(&st[3]), 5);
	assert_string_equal(st[3].port, "p3");
	assert_string_equal(st[3].driver, "nested-vlan");
	assert_int_equal(f->ft.n_subs, 5);
	assert_distinct(&f->ft);
}

/* Ids taken behind the driver's back between its read and its write:
 * the batch is refused whole; one read of the trunk says which ids went,
 * the next add has none of them, and the ids the refused batch held that
 * nobody took are handed out again. */
static void test_batch_clash_rereads(void **state)
{
	struct fixture *f = *state;
	struct kuryr_port ps[6];
	struct binding_state st[6];

	ports_make(ps, 6);
	assert_int_equal(binding_park_many(f->nv, ps, 1, NULL, st, NULL), 0); /* p0: 1 */
	f->ft.adds = f->ft.reads = 0;
	f->ft.steal[f->ft.n_steal++] = 3;
	f->ft.steal[f->ft.n_steal++] = 5;
	assert_int_equal(binding_park_many(f->nv, ps + 1, 3, NULL, st + 1, NULL), 0);
	assert_int_equal(f->ft.adds, 2);
	assert_int_equal(f->ft.reads, 1);
	/* 2, 3, 4 refused for 3; then 2, 4, 6 (5 went too). */
	assert_int_equal(parked_vlan(&st[1]), 2);
	assert_int_equal(parked_vlan(&st[2]), 4);
	assert_int_equal(parked_vlan(&st[3]), 6);
	assert_distinct(&f->ft);
	/* Nothing leaked: the next id is the lowest free one. */
	assert_int_equal(binding_park_many(f->nv, ps + 4, 2, NULL, st + 4, NULL), 0);
	assert_int_equal(parked_vlan(&st[4]), 7);
	assert_int_equal(parked_vlan(&st[5]), 8);
	assert_int_equal(f->ft.n_subs, 8);
	assert_distinct(&f->ft);
}

/* One port's clash needs no read: its id is the one taken. */
static void test_single_clash_no_read(void **state)
{
	struct fixture *f = *state;
	struct kuryr_port ps[2];
	struct binding_state st[2];

	ports_make(ps, 2);
	assert_int_equal(binding_park(f->nv, &ps[0], NULL, &st[0], NULL), 0);
	f->ft.adds = f->ft.reads = 0;
	f->ft.steal[f->ft.n_steal++] = 2;
	assert_int_equal(binding_park(f->nv, &ps[1], NULL, &st[1], NULL), 0);
	assert_int_equal(f->ft.adds, 2);
	assert_int_equal(f->ft.reads, 0);
	assert_int_equal(parked_vlan(&st[1]), 3);
	assert_distinct(&f->ft);
}

/* Clashes without end: a bounded number of tries, then -EAGAIN, nothing
 * on the trunk; the ids are not lost (the reads found them free). */
static void test_batch_clash_bounded(void **state)
{
	struct fixture *f = *state;
	struct kuryr_port ps[3];
	struct binding_state st[3];

	ports_make(ps, 3);
	f->ft.clash_always = true;
	assert_int_equal(binding_park_many(f->nv, ps, 3, NULL, st, NULL), -EAGAIN);
	assert_in_range(f->ft.adds, 2, 16);
	assert_int_equal(f->ft.n_subs, 0);
	f->ft.clash_always = false;
	f->ft.adds = 0;
	assert_int_equal(binding_park_many(f->nv, ps, 3, NULL, st, NULL), 0);
	assert_int_equal(f->ft.adds, 1);
	assert_int_equal(parked_vlan(&st[0]), 1);
	assert_int_equal(parked_vlan(&st[2]), 3);
}

/* Another failure gives the batch's ids back at once. */
static void test_batch_failure_gives_ids_back(void **state)
{
	struct fixture *f = *state;
	struct kuryr_port ps[2];
	struct binding_state st[2];
	_cleanup_free_ char *err = NULL;

	ports_make(ps, 2);
	f->ft.fail_add = -EBUSY;
	assert_int_equal(binding_park_many(f->nv, ps, 2, NULL, st, &err), -EBUSY);
	assert_non_null(strstr(err, "2 ports"));
	assert_int_equal(f->ft.adds, 1);
	assert_int_equal(binding_park_many(f->nv, ps, 2, NULL, st, NULL), 0);
	assert_int_equal(parked_vlan(&st[0]), 1);
	assert_int_equal(parked_vlan(&st[1]), 2);
}

/* After a restart (a new driver): one read of the trunk for all the
 * pool's ports; those not on it are not parked. */
static void test_parked_many_one_read(void **state)
{
	struct fixture *f = *state;
	const char *names[] = { "a", "b", "gone", "c" };
	struct binding_state st[4] = { 0 };
	int states[4];

	sub_push(&f->ft, "a", 7);
	sub_push(&f->ft, "b", 3);
	sub_push(&f->ft, "c", 12);
	binding_parked_many(f->nv, names, 4, states, st);
	assert_int_equal(f->ft.reads, 1);
	assert_int_equal(states[0], PARKED_FREE);
	assert_int_equal(parked_vlan(&st[0]), 7);
	assert_int_equal(states[1], PARKED_FREE);
	assert_int_equal(parked_vlan(&st[1]), 3);
	assert_int_equal(states[2], 0);
	assert_int_equal(states[3], PARKED_FREE);
	assert_int_equal(parked_vlan(&st[3]), 12);
	assert_string_equal(st[3].port, "c");
	/* Asked again, the trunk is read again (once), not remembered. */
	binding_parked_many(f->nv, names, 4, states, st);
	assert_int_equal(f->ft.reads, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
		T(test_batch_one_call),
		T(test_batch_clash_rereads),
		T(test_single_clash_no_read),
		T(test_batch_clash_bounded),
		T(test_batch_failure_gives_ids_back),
		T(test_parked_many_one_read),
#undef T
	};

	if (!getenv("KURYR_TEST_LOG"))
		log_set_level(LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
