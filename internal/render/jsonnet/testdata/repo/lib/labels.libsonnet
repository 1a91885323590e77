{
  app(name):: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'guestbook' },
}
