#ifndef TSQ_POST_H
#define TSQ_POST_H

/* POST a JSON body to http://HOST/PATH; 0 when it was sent whole. */
int post_json(const char *host, const char *path, const char *body);

#endif
