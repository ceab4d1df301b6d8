package config

// fillDefaults replaces zero values with the defaults.
func (c *Config) fillDefaults() {
	d := Default()
	str(&c.DataDir, d.DataDir)
	str(&c.Log.Level, d.Log.Level)
	str(&c.Log.Format, d.Log.Format)
	str(&c.HTTP.Listen, d.HTTP.Listen)
	str(&c.SIP.Listen, d.SIP.Listen)
	if c.SIP.RTPPortMin == 0 {
		c.SIP.RTPPortMin = d.SIP.RTPPortMin
	}
	if c.SIP.RTPPortMax == 0 {
		c.SIP.RTPPortMax = d.SIP.RTPPortMax
	}
	if c.SIP.RTPTimeout == 0 {
		c.SIP.RTPTimeout = d.SIP.RTPTimeout
	}
	if c.SIP.Trunks == nil {
		c.SIP.Trunks = []Trunk{}
	}
	if c.SIP.TrustLoopback == nil {
		c.SIP.TrustLoopback = d.SIP.TrustLoopback
	}
	if c.WebRTC.ICEIPs == nil {
		c.WebRTC.ICEIPs = []string{}
	}
	if c.WebRTC.ICEInterfaces == nil {
		c.WebRTC.ICEInterfaces = []string{}
	}
	if c.Demo.Enabled == nil {
		c.Demo.Enabled = d.Demo.Enabled
	}
	str(&c.Demo.Room, d.Demo.Room)
	str(&c.Demo.Number, d.Demo.Number)
	c.fillDeployDefaults()
	c.fillMixerDefaults()
	c.fillTURNDefaults()
}

func str(p *string, def string) {
	if *p == "" {
		*p = def
	}
}
