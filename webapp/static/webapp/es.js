// Spanish: the English text of the app -> its Spanish. Loaded only for fans reading Spanish.
export default {
  "Live": "En vivo", "Cup": "Mundial", "Boards": "Clasificación", "Leagues": "Ligas", "Alerts": "Alertas", "Rules": "Reglas",
  "Sign in": "Entrar", "Sign out {name}": "Salir ({name})", "Loading…": "Cargando…", "Language": "Idioma",
  "Timeline": "Cronología", "Line-ups": "Alineaciones", "Stats": "Estadísticas", "Predictions": "Predicciones", "Chat": "Chat",
  "Score": "Marcador", "pens": "penaltis", "{n} watching": "{n} viendo", "Not current: reconnecting…": "No actualizado: reconectando…",
  "Delayed {n} s (spoiler delay)": "Con {n} s de retraso (anti-spoiler)",
  "Goal for {team}! {scorer} {minute}. {home} {sh}, {away} {sa}": "¡Gol de {team}! {scorer} {minute}. {home} {sh}, {away} {sa}",
  "Momentum": "Dominio", "{team} on top": "domina {team}", "Even": "Igualado", "Substituted": "Sustituido", "Came on": "Entró",
  "{team} starting XI": "Once inicial de {team}", "Bench": "Suplentes", "Line-ups are not in yet.": "Aún no hay alineaciones.",
  "Line-ups: {source}": "Alineaciones: {source}", "No statistics yet.": "Aún no hay estadísticas.", "Match": "Partido",
  "1st half": "1.ª parte", "2nd half": "2.ª parte", "Extra time": "Prórroga", "Period": "Periodo",
  "Possession": "Posesión", "Shots": "Tiros", "On target": "A puerta", "Corners": "Córners", "Fouls": "Faltas",
  "Yellow cards": "Amarillas", "Red cards": "Rojas", "Offsides": "Fueras de juego",
  "Simulated statistics: the real match's figures by period are not public.": "Estadísticas simuladas: las cifras reales por periodo del partido no son públicas.",
};
