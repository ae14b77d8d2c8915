package controlplane

// PolicyYAML returns one served domain's policy as YAML with its ETag (what
// GET /v1/policies/{domain} answers), for pages that show it; ok is false
// for a domain not served.
func (s *Server) PolicyYAML(domain string) (yaml, etag string, ok bool, err error) {
	doc, ok, err := s.document(domain)
	return doc.YAML, doc.ETag, ok, err
}
