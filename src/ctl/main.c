/* SPDX-License-Identifier: Apache-2.0 */
/* kuryrctl: the operator's command line. Every command is one request to
 * kuryrd over its unix socket; output is a plain table or, with -o json,
 * kuryrd's JSON as is. The commands, their parser and the output live in
 * ctl.c and output.c, where the unit tests reach them. */
#include "ctl.h"

int main(int argc, char **argv)
{
	return ctl_main(argc, argv, stdout, stderr);
}
