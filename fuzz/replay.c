/* SPDX-License-Identifier: Apache-2.0 */
/* Runs a fuzz target over its corpus as an ordinary test (TAP), for builds
 * without libFuzzer: each argument is a file or a directory of files. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n;

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;

	if (!f || fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		printf("not ok %d - %s: cannot read\n", ++n, path);
		if (f)
			fclose(f);
		return 1;
	}
	buf = malloc((size_t)len + 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		printf("not ok %d - %s: cannot read\n", ++n, path);
		free(buf);
		fclose(f);
		return 1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	/* A crash, leak or sanitizer report ends the process before this. */
	printf("ok %d - %s\n", ++n, path);
	return 0;
}

int main(int argc, char **argv)
{
	int failed = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		struct dirent **names;
		int k;

		if (stat(argv[i], &st) < 0) {
			printf("not ok %d - %s: missing\n", ++n, argv[i]);
			failed++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			failed += run_file(argv[i]);
			continue;
		}
		k = scandir(argv[i], &names, NULL, alphasort);
		for (int j = 0; j < k; j++) {
			char path[4096];

			if (names[j]->d_name[0] != '.') {
				snprintf(path, sizeof(path), "%s/%s", argv[i], names[j]->d_name);
				failed += run_file(path);
			}
			free(names[j]);
		}
		free(names);
	}
	printf("1..%d\n", n);
	return n == 0 || failed ? 1 : 0;
}
