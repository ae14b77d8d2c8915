# Sourced by the plot scripts: installs redis-server and gnuplot with
# apt-get where they are missing.
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v gnuplot >/dev/null || need+=(gnuplot-nox)
if ((${#need[@]})); then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
