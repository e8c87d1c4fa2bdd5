/*
 * free-port.c - prints a TCP port on 127.0.0.1 that was free a moment ago
 * (the kernel picks it by binding port 0). Test helpers start servers on it
 * and retry on the rare race.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return 1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		close(fd);
		return 1;
	}
	printf("%u\n", (unsigned)ntohs(sa.sin_port)); /* stylecheck: allow (sockaddr) */
	close(fd);
	return 0;
}
