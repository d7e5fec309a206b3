/* diff_manyfiles.c: a directory of 600 entries with long names: listing it
 * takes several fd_readdir calls resumed by cookie; then every file is
 * removed while listing (differential test). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
  if (mkdir("/many", 0755) < 0) {
    printf("mkdir: %s\n", strerror(errno));
    return 1;
  }
  char name[300];
  for (int i = 0; i < 600; i++) {
    snprintf(name, sizeof name, "/many/entry-%04d-%0100d", i, i);
    FILE *f = fopen(name, "w");
    if (!f) {
      printf("create %d: %s\n", i, strerror(errno));
      return 1;
    }
    fprintf(f, "%d", i);
    fclose(f);
  }
  DIR *d = opendir("/many");
  int count = 0, sum = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    int n;
    if (sscanf(de->d_name, "entry-%d-", &n) == 1) {
      count++;
      sum += n;
    }
  }
  closedir(d);
  printf("listed %d entries, index sum %d\n", count, sum);
  int removed = 0;
  for (int i = 0; i < 600; i++) {
    snprintf(name, sizeof name, "/many/entry-%04d-%0100d", i, i);
    removed += unlink(name) == 0;
  }
  printf("removed %d, rmdir %d\n", removed, rmdir("/many"));
  return 0;
}
